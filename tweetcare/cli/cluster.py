"""`tweetcare cluster up|down|status|env`: a production-shaped topology on this machine (Spark
standalone, 3 Kafka brokers, S3, PostgreSQL, MLflow server), and the settings that point
tweetcare at it."""

from __future__ import annotations

import json
import shlex
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tweetcare.cluster.layout import Layout
from tweetcare.cluster.topology import (
    cluster_env,
    cluster_settings,
    default_root,
    delete,
    down,
    status,
)
from tweetcare.cluster.topology import up as cluster_up
from tweetcare.core.errors import UserError
from tweetcare.core.settings import get_settings

app = typer.Typer(
    no_args_is_help=True,
    help="A local Spark standalone + 3-broker Kafka + S3 + Postgres + MLflow topology.",
)


@app.command()
def up(
    fresh: Annotated[
        bool, typer.Option(help="stop it and delete its state first (empty topics, databases)")
    ] = False,
) -> None:
    """Start the topology (what is not running yet) and create the topics on it."""
    settings = get_settings()
    console = Console()
    if fresh:
        delete(default_root(settings), log=console.print)
    layout = cluster_up(default_root(settings), settings.jars_dir.resolve(), log=console.print)
    console.print(f"cluster up; state in {layout.root}")
    console.print('point tweetcare at it: eval "$(tweetcare cluster env)"')


@app.command("down")
def down_command(
    delete_state: Annotated[
        bool,
        typer.Option(
            "--delete",
            help="also delete its state (topics, buckets, databases); `make clean` does",
        ),
    ] = False,
) -> None:
    """Stop everything the topology runs (its storage stays for the next `up`, unless
    --delete)."""
    root = default_root(get_settings())
    if delete_state:
        delete(root, log=Console().print)
        Console().print(f"cluster state deleted ({root} and the database's files)")
        return
    stopped = down(root, log=Console().print)
    if not stopped:
        Console().print("nothing was running")


@app.command("status")
def status_command(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """What runs and where; exits 1 unless everything runs."""
    states = status(default_root(get_settings()))
    if as_json:
        print(json.dumps([s.__dict__ for s in states], indent=2))
    else:
        table = Table(title="local cluster")
        for column in ("service", "running", "address"):
            table.add_column(column)
        for s in states:
            table.add_row(s.name, "[green]yes[/]" if s.running else "[red]no[/]", s.address)
        Console().print(table if states else "no cluster here: `tweetcare cluster up`")
    if not states or not all(s.running for s in states):
        raise typer.Exit(1)


@app.command()
def env() -> None:
    """`export` lines that point tweetcare, MLflow, DVC and boto3 at the topology."""
    settings = get_settings()
    layout = Layout.load(default_root(settings))
    if layout is None:
        raise UserError("no cluster here: run `tweetcare cluster up` first")
    for name, value in sorted(cluster_env(layout, cluster_settings(layout, settings)).items()):
        print(f"export {name}={shlex.quote(value)}")
