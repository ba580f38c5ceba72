"""`tweetcare cluster start|stop|status|env`: a production-shaped topology on this machine (Spark
standalone, 3 Kafka brokers, S3, PostgreSQL, MLflow server), and the settings that point
tweetcare at it. `up` and `down` are the old names of `start` and `stop`, kept hidden."""

from __future__ import annotations

import shlex
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tweetcare.cli.json_output import print_records
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


FreshOption = Annotated[
    bool, typer.Option(help="stop it and delete its state first (empty topics, databases)")
]
DeleteOption = Annotated[
    bool,
    typer.Option(
        "--delete",
        help="also delete its state (topics, buckets, databases); `make clean-demo` does",
    ),
]


@app.command("start")
def start(fresh: FreshOption = False) -> None:
    """Start the topology (what is not running yet) and create the topics on it."""
    settings = get_settings()
    console = Console()
    if fresh:
        delete(default_root(settings), log=console.print)
    layout = cluster_up(default_root(settings), settings.jars_dir.resolve(), log=console.print)
    console.print(f"cluster started; state in {layout.root}")
    console.print('point tweetcare at it: eval "$(tweetcare cluster env)"')


@app.command("stop")
def stop(delete_state: DeleteOption = False) -> None:
    """Stop everything the topology runs (its storage stays for the next `start`, unless
    --delete)."""
    root = default_root(get_settings())
    if delete_state:
        delete(root, log=Console().print)
        Console().print(f"cluster state deleted ({root} and the database's files)")
        return
    stopped = down(root, log=Console().print)
    if not stopped:
        Console().print("nothing was running")


def _renamed(old: str, new: str) -> None:
    typer.echo(f"note: `tweetcare cluster {old}` is now `tweetcare cluster {new}`", err=True)


@app.command("up", hidden=True)
def up_alias(fresh: FreshOption = False) -> None:
    """The old name of `start`."""
    _renamed("up", "start")
    start(fresh)


@app.command("down", hidden=True)
def down_alias(delete_state: DeleteOption = False) -> None:
    """The old name of `stop`."""
    _renamed("down", "stop")
    stop(delete_state)


@app.command("status")
def status_command(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per service")] = False,
) -> None:
    """What runs and where; exits 1 unless everything runs."""
    states = status(default_root(get_settings()))
    if as_json:
        print_records(s.__dict__ for s in states)
    else:
        table = Table(title="local cluster")
        for column in ("service", "running", "address"):
            table.add_column(column)
        for s in states:
            table.add_row(s.name, "[green]yes[/]" if s.running else "[red]no[/]", s.address)
        Console().print(table if states else "no cluster here: `tweetcare cluster start`")
    if not states or not all(s.running for s in states):
        raise typer.Exit(1)


@app.command()
def env() -> None:
    """`export` lines that point tweetcare, MLflow, DVC and boto3 at the topology."""
    settings = get_settings()
    layout = Layout.load(default_root(settings))
    if layout is None:
        raise UserError("no cluster here: run `tweetcare cluster start` first")
    for name, value in sorted(cluster_env(layout, cluster_settings(layout, settings)).items()):
        print(f"export {name}={shlex.quote(value)}")
