"""The `tweetcare` command: one entry point for the project's own verbs.

Each verb group lives in its own module; the ecosystem's commands (`dvc repro`, `mlflow ui`,
`bentoml serve`, `spark-submit`) keep working directly beside it.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from tweetcare.cli import analyze as analyze_cli
from tweetcare.cli import cluster, data, demo, kafka, replay, serve, stream
from tweetcare.cli import evaluate as evaluate_cli
from tweetcare.cli import replies as replies_cli
from tweetcare.cli import tickets as tickets_cli
from tweetcare.cli import train as train_cli
from tweetcare.cli import ui as ui_cli
from tweetcare.core.errors import UserError
from tweetcare.process import ServiceError

app = typer.Typer(
    no_args_is_help=True,
    help="Real-time customer care for Twitter/X: data, models, Kafka, Spark and BentoML.",
    pretty_exceptions_show_locals=False,
)
app.add_typer(data.app, name="data")
app.add_typer(kafka.app, name="kafka")
app.add_typer(cluster.app, name="cluster")
app.add_typer(serve.app, name="serve")
app.add_typer(stream.app, name="stream")
app.add_typer(tickets_cli.app, name="tickets")
app.add_typer(replies_cli.app, name="replies")
app.command("replay")(replay.replay)
app.command("demo")(demo.demo)
app.command("analyze")(analyze_cli.analyze)
app.command("train")(train_cli.train)
app.command("evaluate")(evaluate_cli.evaluate)
app.command("ui")(ui_cli.ui)


def main() -> None:
    """Run the CLI; known failures print one clear line instead of a traceback."""
    try:
        app(standalone_mode=False)
    except (UserError, ServiceError) as err:
        Console(stderr=True).print(f"[bold red]error:[/] {err}", highlight=False)
        sys.exit(2)
    except typer.Abort:
        sys.exit(130)
    except Exception as err:  # click's usage errors carry their own exit code
        import click

        if isinstance(err, click.ClickException):
            err.show()
            sys.exit(err.exit_code)
        raise
