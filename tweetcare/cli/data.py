"""`tweetcare data`: make a synthetic twcs dataset or import the real one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tweetcare.core.errors import UserError
from tweetcare.core.params import DEFAULT_PARAMS, load_params
from tweetcare.data.generator import write_dataset
from tweetcare.data.importer import import_twcs
from tweetcare.data.versioning import check_data_version, record_data_version

app = typer.Typer(no_args_is_help=True, help="Make or import twcs-format data.")

DEFAULT_OUT = Path("data")


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
    dvc_file: Annotated[
        Path, typer.Option(help="the .dvc file of the folder it goes into ('' to skip)")
    ] = Path("data.dvc"),
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
