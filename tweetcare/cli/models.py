"""`tweetcare models list|rollback|shadow-report|promote`: what is registered, the challenger's
live record, the live gate, and a way back."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tweetcare.cli.actor import UserOption, actor
from tweetcare.cli.json_output import print_document, print_records
from tweetcare.core.contract import CHALLENGER, CHAMPION
from tweetcare.core.params import DEFAULT_PARAMS, load_params
from tweetcare.core.settings import get_settings
from tweetcare.monitoring.shadow import (
    ShadowEvidence,
    decide,
    evidence,
    live_frame,
    registered_pair,
)
from tweetcare.monitoring.shadow import shadow_report as build_report

app = typer.Typer(
    no_args_is_help=True,
    help="Registered models, the challenger's live record, promotion and rollback.",
)
JsonOption = Annotated[bool, typer.Option("--json", help="one JSON object per version")]


@app.command("list")
def list_models(
    name: Annotated[
        str | None, typer.Argument(help="only this model (default: every one)", show_default=False)
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The registered models, their versions and which aliases (@champion, @challenger) each
    holds, from the MLflow registry TWEETCARE_MLFLOW_TRACKING_URI names."""
    from mlflow.tracking import MlflowClient

    from training.registry_admin import list_versions

    settings = get_settings()
    rows = list_versions(MlflowClient(settings.mlflow_tracking_uri), name)
    if as_json:
        print_records(asdict(row) for row in rows)
        return
    if not rows:
        Console().print(f"no registered models in {settings.mlflow_tracking_uri}")
        return
    table = Table(title=f"registered models ({settings.mlflow_tracking_uri})")
    for column in ("model", "version", "aliases", "decision", "created (UTC)", "run"):
        table.add_column(column)
    for row in rows:
        aliases = ", ".join(f"@{alias}" for alias in row.aliases)
        table.add_row(row.model, row.version, aliases, row.decision or "-", row.created[:19],
                      row.run_id or "-")  # fmt: skip
    Console().print(table)


@app.command("rollback")
def rollback(
    name: Annotated[str, typer.Argument(help="the registered model, e.g. tweet-inbound")],
    user: UserOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="the move as one JSON object")] = False,
) -> None:
    """Move NAME@champion back to the version before it (the newest older version), tagging it
    with who rolled back and from which version; restart the server to serve it."""
    from mlflow.tracking import MlflowClient

    from training.registry_admin import rollback_champion

    settings = get_settings()
    moved = rollback_champion(MlflowClient(settings.mlflow_tracking_uri), name, actor(user))
    if as_json:
        print_document(asdict(moved))
        return
    typer.echo(
        f"{moved.model}@{CHAMPION}: version {moved.from_version} -> {moved.to_version} "
        f"({moved.reason}); restart the server to serve it"
    )


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _table(pairs: list[ShadowEvidence], current: tuple[str | None, str | None]) -> Table:
    table = Table(title="Shadow scoring: champion and challenger on the same live tweets")
    columns = (
        "champion v", "challenger v", "tweets", "agree", "labelled", "by agents", "champion F1",
        "challenger F1", "champion acc", "challenger acc", "only champion right",
        "only challenger right",
    )  # fmt: skip
    for column in columns:
        table.add_column(column, justify="right")
    for e in pairs:
        now = (e.champion_version, e.challenger_version) == current
        table.add_row(
            e.champion_version + (" *" if now else ""),
            e.challenger_version,
            str(e.tweets),
            f"{e.agreement:.1%}",
            str(e.labelled),
            str(e.human_labelled),
            _figure(e.champion_f1),
            _figure(e.challenger_f1),
            _figure(e.champion_accuracy),
            _figure(e.challenger_accuracy),
            str(e.champion_right_only),
            str(e.challenger_right_only),
        )
    return table


@app.command("shadow-report")
def shadow_report(
    params: Annotated[Path, typer.Option(help="params.yaml (the shadow: gate)")] = DEFAULT_PARAMS,
    as_json: Annotated[bool, typer.Option("--json", help="the figures as one JSON object")] = False,
) -> None:
    """How often champion and challenger agree on the lake's tweets, and how each does on
    the labelled ones; * marks the pair served now, judged by the live gate."""
    settings = get_settings()
    report = build_report(settings, load_params(params).shadow)
    if as_json:
        print_document(report.to_dict())
        return
    pairs, verdict = report.pairs, report.verdict
    current = (report.champion_version, report.challenger_version)
    console = Console()
    if not pairs:
        console.print("No shadow-scored tweets in the lake yet: the server scores in shadow when "
                      f"{settings.inbound_model}@{CHALLENGER} exists (restart it after registering).")  # fmt: skip
    else:
        console.print(_table(pairs, current))
    if verdict is None:
        console.print(
            f"No {CHALLENGER} is registered for {settings.inbound_model}: nothing to promote."
        )
    else:
        console.print(
            ("[green]would promote[/]: " if verdict[0] else "[yellow]would keep[/]: ") + verdict[1]
        )


@app.command("promote")
def promote(
    params: Annotated[Path, typer.Option(help="params.yaml (the shadow: gate)")] = DEFAULT_PARAMS,
    dry_run: Annotated[bool, typer.Option(help="judge, change nothing")] = False,
) -> None:
    """Make the challenger the champion when its live record passes the gate; the verdict and
    its figures are kept on the challenger version either way. Exit 1 when it is refused."""
    import mlflow

    from training.registry import promote_challenger, record_shadow_decision

    settings = get_settings()
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    gate = load_params(params).shadow
    champion, challenger = registered_pair(settings)
    if champion is None or challenger is None:
        typer.echo(
            f"nothing to promote: {settings.inbound_model} has no {CHAMPION} and {CHALLENGER} pair"
        )
        raise typer.Exit(1)
    found = evidence(live_frame(settings), champion, challenger)
    promote_it, reason = decide(found, gate)
    record = {"evidence": found.to_dict(), "rules": gate.model_dump()}
    if dry_run:
        typer.echo(("would promote: " if promote_it else "would keep: ") + reason)
        raise typer.Exit(0 if promote_it else 1)
    if not promote_it:
        record_shadow_decision(settings.inbound_model, challenger, CHALLENGER, reason, record)
        typer.echo(f"kept version {champion} as {CHAMPION}: {reason}")
        raise typer.Exit(1)
    new, old = promote_challenger(settings.inbound_model, reason, record)
    typer.echo(
        f"version {new} is now {CHAMPION} (was {old}): {reason}; restart the server to serve it"
    )
