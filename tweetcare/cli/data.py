"""`tweetcare data`: make a synthetic twcs dataset or import the real one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tweetcare.core.errors import UsageError, UserError
from tweetcare.core.params import DEFAULT_PARAMS, load_params
from tweetcare.data.generator import write_dataset
from tweetcare.data.importer import import_twcs
from tweetcare.data.versioning import check_data_version, record_data_version

if TYPE_CHECKING:  # pandas and the sets' modules load only when a command needs them
    import pandas as pd

    from tweetcare.core.params import Params
    from tweetcare.data.labelled import LabelledImport, SourceColumns

app = typer.Typer(no_args_is_help=True, help="Make or import twcs-format data.")

DEFAULT_OUT = Path("data")
# the options every command that writes into data/ shares
DvcFileOption = Annotated[
    Path, typer.Option(help="the .dvc file of the folder it goes into ('' to skip)")
]
LabelledParamsOption = Annotated[
    Path, typer.Option("--params", help="params.yaml (data.labelled, validate)")
]
ReportDirOption = Annotated[
    Path | None,
    typer.Option(help="folder for the validation report (default: reports/validation)"),
]


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _generate_defaults(params_file: Path) -> tuple[int, int]:
    if not params_file.is_file():
        raise UserError(
            f"{params_file} not found: pass --rows and --seed, or run from the repo root"
        )
    params = load_params(params_file).generate
    return params.rows, params.seed


@app.command()
def generate(
    rows: Annotated[
        int | None,
        typer.Option(min=1, help="tweets to generate [default: params.yaml generate.rows]"),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="random seed [default: params.yaml generate.seed]")
    ] = None,
    out: Annotated[Path, typer.Option(help="folder for twcs.csv and labels.csv")] = DEFAULT_OUT,
    params_file: Annotated[
        Path, typer.Option("--params", help="params file with the generate defaults")
    ] = DEFAULT_PARAMS,
) -> None:
    """Write a seeded synthetic twcs.csv and its ground-truth labels.csv."""
    if rows is None or seed is None:
        default_rows, default_seed = _generate_defaults(params_file)
        rows = default_rows if rows is None else rows
        seed = default_seed if seed is None else seed
    console = Console()
    with _progress(console) as progress:
        task = progress.add_task(f"generating (seed {seed})", total=rows)
        twcs, labels = write_dataset(out, rows, seed, lambda n: progress.advance(task, n))
    console.print(f"wrote {rows:,} tweets to [bold]{twcs}[/] and their labels to [bold]{labels}[/]")


@app.command()
def check(
    dvc_file: Annotated[Path, typer.Argument(help="the .dvc file that records data/")] = Path(
        "data.dvc"
    ),
    as_json: Annotated[
        bool, typer.Option("--json", help='print {"dvc_file", "matches", "reason"}; exit 1 if not')
    ] = False,
) -> None:
    """Fail unless data/ is exactly the version DVC records (and cache it)."""
    if not dvc_file.is_file():
        raise UserError(f"{dvc_file} not found: run from the repository root, or `dvc add data`")
    if not as_json:
        check_data_version(dvc_file)
        Console().print(f"data/ matches {dvc_file}")
        return
    try:
        check_data_version(dvc_file)
    except UserError as err:
        print(json.dumps({"dvc_file": str(dvc_file), "matches": False, "reason": str(err)}))
        raise typer.Exit(1) from err
    print(json.dumps({"dvc_file": str(dvc_file), "matches": True, "reason": None}))


@app.command("import")
def import_(
    path: Annotated[
        Path, typer.Argument(help="a real twcs.csv (Kaggle 'Customer Support on Twitter')")
    ],
    out: Annotated[
        Path, typer.Option(help="folder for the accepted twcs.csv and rejects.csv")
    ] = DEFAULT_OUT,
    chunksize: Annotated[int, typer.Option(min=1, help="rows read at a time")] = 200_000,
) -> None:
    """Check a real twcs.csv row by row; keep good rows, write the rest to rejects.csv."""
    console = Console()
    with _progress(console) as progress:
        task = progress.add_task(f"importing {path.name}", total=None)
        report = import_twcs(path, out, chunksize, lambda n: progress.advance(task, n))
    table = Table(title=f"import of {path}")
    table.add_column("outcome")
    table.add_column("rows", justify="right")
    table.add_row("accepted", f"{report.accepted:,}")
    for reason, count in report.rejected.items():
        table.add_row(f"rejected: {reason}", f"{count:,}")
    table.add_row("total", f"{report.total:,}", style="bold")
    console.print(table)
    console.print(
        f"accepted rows in [bold]{report.twcs_path}[/], rejects in [bold]{report.rejects_path}[/]"
    )


corrections_app = typer.Typer(no_args_is_help=True, help="Agents' corrections as training data.")
app.add_typer(corrections_app, name="corrections")


@corrections_app.command("export")
def export_corrections(
    out: Annotated[
        Path | None, typer.Option(help="the labelled CSV [default: params.yaml data.corrections]")
    ] = None,
    params_file: Annotated[Path, typer.Option("--params", help="params.yaml")] = DEFAULT_PARAMS,
    dvc_file: DvcFileOption = Path("data.dvc"),
) -> None:
    """Write every correction as one labelled row per tweet (merged with earlier exports) and
    record the folder as a new data version, so the next `dvc repro` trains on it."""
    from tweetcare.core.settings import get_settings
    from tweetcare.tickets.corrections import export_frame, merge_into
    from tweetcare.tickets.store import TicketStore

    out = out or load_params(params_file).data.corrections
    store = TicketStore(get_settings().tickets_db_url)
    try:
        fresh = export_frame(store)
    finally:
        store.close()
    rows = merge_into(out, fresh)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows.to_csv(out, index=False)
    console = Console()
    console.print(
        f"wrote {len(rows)} corrected tweets ({len(fresh)} from the ticket store) to {out}"
    )
    if str(dvc_file) and dvc_file.is_file():
        from training.model_card import data_version

        record_data_version(dvc_file)
        console.print(f"{dvc_file} now records data version {data_version(dvc_file)}")


labels_app = typer.Typer(no_args_is_help=True, help="Labelled tweets as training data.")
app.add_typer(labels_app, name="labels")


@labels_app.command("import")
def import_labels(
    path: Annotated[Path, typer.Argument(help="a UTF-8 CSV with a text column and a label column")],
    task: Annotated[
        str, typer.Option(help="what the labels answer: sentiment, category, needs_ticket, inbound")
    ],
    name: Annotated[
        str | None,
        typer.Option(help="the set's name: a-z, 0-9, _ and - (default: the file's stem)"),
    ] = None,
    text_column: Annotated[str, typer.Option(help="the column holding the tweet")] = "text",
    label_column: Annotated[str, typer.Option(help="the column holding the label")] = "label",
    id_column: Annotated[
        str | None, typer.Option(help="the column of tweet ids (default: <name>-<row>)")
    ] = None,
    conversation_column: Annotated[
        str | None,
        typer.Option(help="the column of conversation ids (default: each tweet its own)"),
    ] = None,
    maps: Annotated[
        list[str] | None,
        typer.Option(
            "--map", help="OLD=NEW renames a label (repeatable); OLD= leaves it empty (no label)"
        ),
    ] = None,
    skip_empty: Annotated[
        bool, typer.Option(help="leave out rows whose label is empty (else: refuse the file)")
    ] = False,
    drop_conflicts: Annotated[
        bool, typer.Option(help="leave out each text labelled two ways (else: refuse the file)")
    ] = False,
    params_file: LabelledParamsOption = DEFAULT_PARAMS,
    dvc_file: DvcFileOption = Path("data.dvc"),
    report_dir: ReportDirOption = None,
) -> None:
    """Check a labelled CSV with Great Expectations and write it as the set
    <data.labelled>/<task>/<name>.csv, then record the new data version. A bad file is refused
    with the row and the problem, and nothing is written."""
    from rich.markup import escape

    from tweetcare.data.labelled import (
        SourceColumns,
        check_name,
        parse_maps,
        read_source,
        summary_rows,
    )

    params = load_params(params_file)
    name = check_name(path.stem if name is None else name)
    columns = SourceColumns(text_column, label_column, id_column, conversation_column)
    imported = read_source(
        path,
        task,
        name,
        columns,
        parse_maps(maps or [], task),
        skip_empty=skip_empty,
        drop_conflicts=drop_conflicts,
    )
    if imported.frame.empty:
        raise UsageError(
            f"{path} has no labelled rows to import ({imported.rows_read} read, "
            f"{imported.skipped_empty} with an empty label)"
        )
    report = _check_labelled(imported, columns, task, name, params, report_dir, path)
    console = Console(soft_wrap=True)  # paths stay whole, to copy
    console.print(f"{task} labels from {escape(str(path))}")
    table = Table()
    table.add_column("rows")
    table.add_column("count", justify="right")
    for label, count in summary_rows(imported, len(imported.frame)):
        table.add_row(label, f"{count:,}")
    for label, count in imported.label_counts.items():
        table.add_row(f"  label {label}", f"{count:,}")
    console.print(table)
    _save_labelled(imported.frame, task, name, params, report, dvc_file, console)


def _check_labelled(
    imported: LabelledImport,
    columns: SourceColumns,
    task: str,
    name: str,
    params: Params,
    report_dir: Path | None,
    source: Path,
) -> Path:
    """Run the labelled sets' Great Expectations suite on a set about to be written and write its
    report (``<report_dir>/labelled_<task>_<name>.json``); UserError with the first failure's
    row and problem, and nothing written, when it fails. Returns the report's path."""
    from pipelines.expectations import labelled_suite
    from pipelines.validate import REPORT_DIR, run_suite
    from tweetcare.data.labelled import refusal

    bounds = (params.validate_.min_text_chars, params.validate_.max_text_chars)
    summary = run_suite(imported.frame, labelled_suite(task, params.validate_))
    report = (report_dir or REPORT_DIR) / f"labelled_{task}_{name}.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(summary.to_json(), indent=2) + "\n")
    problem = refusal(summary.results, imported, task, columns, bounds)
    if problem:
        raise UsageError(f"{source} {problem}; every failure is in {report}")
    return report


def _save_labelled(
    frame: pd.DataFrame,
    task: str,
    name: str,
    params: Params,
    report: Path,
    dvc_file: Path,
    console: Console,
) -> None:
    """Write a checked set as <data.labelled>/<task>/<name>.csv and record the data version."""
    from rich.markup import escape

    from tweetcare.data.labelled import write_labelled_set

    replaced = (params.data.labelled / task / f"{name}.csv").exists()
    target = write_labelled_set(frame, params.data.labelled, task, name)
    done = "replaced" if replaced else "wrote"
    console.print(f"{done} [bold]{escape(str(target))}[/]; checks in {escape(str(report))}")
    if str(dvc_file) and dvc_file.is_file():
        from training.model_card import data_version

        record_data_version(dvc_file)
        console.print(f"{dvc_file} now records data version {data_version(dvc_file)}")
    else:
        console.print("data version not recorded: no .dvc file (`dvc commit data.dvc` records it)")


@labels_app.command("export")
def export_labels(
    task: Annotated[
        str, typer.Option(help="what the labels answer: sentiment, category or needs_ticket")
    ],
    name: Annotated[str, typer.Option(help="the set's name, [a-z0-9_-]")] = "agents",
    params_file: Annotated[
        Path, typer.Option("--params", help="params.yaml (data.labelled)")
    ] = DEFAULT_PARAMS,
    dvc_file: DvcFileOption = Path("data.dvc"),
) -> None:
    """Write the agents' labels of one task (the console's Label queue and their ticket
    corrections) as the set <data.labelled>/<task>/<name>.csv, merged with its earlier export
    (the newest label per tweet wins), then record the new data version."""
    from tweetcare.core.settings import get_settings
    from tweetcare.data.labelled import (
        check_name,
        normalise_label,
        read_labelled_sets,
        write_labelled_set,
    )
    from tweetcare.tickets.labels import LABELLED_FIELDS, labels_frame, merge_labels
    from tweetcare.tickets.store import TicketStore

    if task not in LABELLED_FIELDS:
        raise typer.BadParameter(
            f"{task!r} is not one of {', '.join(LABELLED_FIELDS)}", param_hint="'--task'"
        )
    name = check_name(name)
    root = load_params(params_file).data.labelled
    store = TicketStore(get_settings().tickets_db_url)
    try:
        fresh = labels_frame(store, task)
    finally:
        store.close()
    fresh["label"] = fresh["label"].map(lambda label: normalise_label(task, label))
    rows = merge_labels(read_labelled_sets(root, task).get(name), fresh)
    console = Console()
    if rows.empty:
        console.print(f"no {task} labels from agents yet: nothing written")
        return
    target = write_labelled_set(rows, root, task, name)
    console.print(
        f"wrote {len(rows)} labelled tweets ({len(fresh)} from the ticket store) to {target}"
    )
    if str(dvc_file) and dvc_file.is_file():
        from training.model_card import data_version

        record_data_version(dvc_file)
        console.print(f"{dvc_file} now records data version {data_version(dvc_file)}")


@labels_app.command("weak")
def weak_labels(
    path: Annotated[
        Path, typer.Argument(help="a twcs-format CSV: customer tweets and the brand's replies")
    ],
    task: Annotated[str, typer.Option(help="what to label: sentiment, needs_ticket or category")],
    name: Annotated[str, typer.Option(help="the set's name, [a-z0-9_-]")] = "weak",
    rules_file: Annotated[
        Path | None,
        typer.Option("--rules", help="reply patterns per label [default: config/weak_labels.yaml]"),
    ] = None,
    params_file: LabelledParamsOption = DEFAULT_PARAMS,
    dvc_file: DvcFileOption = Path("data.dvc"),
    report_dir: ReportDirOption = None,
) -> None:
    """Label the customer tweets of a real history by the brand's replies to them (an apology:
    a problem; "you're welcome": thanks), with the rules of config/weak_labels.yaml; check the
    set as `import` does, write it as <data.labelled>/<task>/<name>.csv and record the new data
    version. Tweets no rule speaks for get no label."""
    import pandas as pd
    from rich.markup import escape

    from tweetcare.data.importer import check_header
    from tweetcare.data.labelled import LabelledImport, SourceColumns, check_name
    from tweetcare.data.weak import (
        DEFAULT_RULES,
        HISTORY_COLUMNS,
        WEAK_TASKS,
        load_weak_rules,
        summary_rows,
    )
    from tweetcare.data.weak import weak_labels as derive

    if task not in WEAK_TASKS:
        raise typer.BadParameter(
            f"{task!r} is not one of {', '.join(WEAK_TASKS)}", param_hint="'--task'"
        )
    name = check_name(name)
    rules = load_weak_rules(rules_file or DEFAULT_RULES)
    params = load_params(params_file)
    check_header(path)
    try:
        history = pd.read_csv(
            path, dtype=str, keep_default_na=False, usecols=list(HISTORY_COLUMNS), encoding="utf-8"
        )
    except (UnicodeDecodeError, pd.errors.ParserError) as err:
        message = " ".join(str(err).split())
        raise UsageError(f"{path} could not be read as CSV: {message}") from None
    history.index = history.index + 2  # the file's row numbers (the header is row 1)
    bounds = (params.validate_.min_text_chars, params.validate_.max_text_chars)
    weak = derive(history, rules, task, bounds)
    if weak.frame.empty:
        raise UsageError(
            f"no customer tweet in {path} has a reply that a {task} rule of "
            f"{rules_file or DEFAULT_RULES} matches: nothing written"
        )
    imported = LabelledImport(weak.frame, len(history), label_counts=weak.label_counts)
    columns = SourceColumns("text", "label", "tweet_id", "in_response_to_tweet_id")
    report = _check_labelled(imported, columns, task, name, params, report_dir, path)
    console = Console(soft_wrap=True)
    console.print(f"weak {task} labels from the brand replies in {escape(str(path))}")
    table = Table()
    table.add_column("tweets")
    table.add_column("count", justify="right")
    for label, count in summary_rows(weak):
        table.add_row(label, f"{count:,}")
    for label, count in weak.label_counts.items():
        table.add_row(f"  label {label}", f"{count:,}")
    console.print(table)
    console.print(f"coverage: {weak.coverage:.1%} of the customer tweets labelled")
    _save_labelled(weak.frame, task, name, params, report, dvc_file, console)
