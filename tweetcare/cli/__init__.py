"""The `tweetcare` command: one entry point for the project's own verbs.

Each verb lives in its own module, imported only when that verb runs (`tweetcare --help` stays
fast while verbs pull in pandas, SQLAlchemy, MLflow or Spark). The ecosystem's commands
(`dvc repro`, `mlflow ui`, `bentoml serve`, `spark-submit`) keep working directly beside it.
"""

from __future__ import annotations

import os
import sys
from importlib import import_module
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from tweetcare.cli.exit_codes import EXIT_CODES_HELP, FAILURE, JSON_HELP, USAGE
from tweetcare.cli.help_format import hide_flag_placeholders

# verb -> (module, attribute: a Typer group or a command function, one-line help for --help)
VERBS: dict[str, tuple[str, str, str]] = {
    "demo": ("tweetcare.cli.demo", "demo", "Run the whole system once and print a summary."),
    "data": ("tweetcare.cli.data", "app", "Make, check or import twcs-format data."),
    "train": ("tweetcare.cli.train", "train", "Train and register models on any twcs file."),
    "evaluate": ("tweetcare.cli.evaluate", "evaluate", "Score a registered model on a file."),
    "analyze": ("tweetcare.cli.analyze", "analyze", "Analyze a tweet or a CSV on the server."),
    "kafka": ("tweetcare.cli.kafka", "app", "Kafka: local broker, topics on any cluster, tail."),
    "cluster": ("tweetcare.cli.cluster", "app", "A production-shaped local cluster for the demo."),
    "serve": ("tweetcare.cli.serve", "app", "The BentoML model server in the background."),
    "stream": ("tweetcare.cli.stream", "app", "The Spark Structured Streaming job."),
    "replay": ("tweetcare.cli.replay", "replay", "Publish a twcs CSV to the tweets topic."),
    "tickets": ("tweetcare.cli.tickets", "app", "Support tickets opened by the stream."),
    "replies": ("tweetcare.cli.replies", "app", "Suggested replies: review, approve, send."),
    "ui": ("tweetcare.cli.ui", "app", "The agent console (Streamlit), in the foreground."),
    "monitor": ("tweetcare.cli.monitor", "app", "Drift, data quality and escalation alerts."),
    "models": ("tweetcare.cli.models", "app", "The challenger's live record, and promotion."),
    "ingest": ("tweetcare.cli.ingest", "app", "Read live tweets from X onto the tweets topic."),
    "users": ("tweetcare.cli.users", "app", "The agents who may sign in to the console."),
    "db": ("tweetcare.cli.db", "app", "The ticket store's schema: migrate it."),
}


def load_verb(name: str) -> Any:
    """The click command of one verb, built by typer from its module."""
    module, attribute, _ = VERBS[name]
    target = getattr(import_module(module), attribute)
    if isinstance(target, typer.Typer):
        command = typer.main.get_group(target)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    hide_flag_placeholders(command)
    return command


class LazyGroup(TyperGroup):
    """The root group: knows each verb's name and help, imports its module on first use."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._listing = False
        for name, (_, _, short) in VERBS.items():
            self.commands.setdefault(name, _Placeholder(name=name, help=short))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = self.commands.get(cmd_name)
        if isinstance(command, _Placeholder) and not self._listing:
            command = self.commands[cmd_name] = load_verb(cmd_name)
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        # listing the verbs needs only their names and help: leave their modules unimported
        self._listing = True
        hide_flag_placeholders(self)  # typer adds the completion flags after __init__
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


class _Placeholder(TyperCommand):
    """A verb not imported yet (shown in --help, replaced by the real command when run)."""


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"tweetcare {version('tweetcare')}")
        raise typer.Exit()


app = typer.Typer(
    cls=LazyGroup,
    no_args_is_help=True,
    help="Real-time customer care for Twitter/X: data, models, Kafka, Spark and BentoML.",
    epilog=f"{EXIT_CODES_HELP}\n\n{JSON_HELP}",
    pretty_exceptions_show_locals=False,
)


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_version, help="print the version"),
    ] = False,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            help="use the local state in this folder (runtime files, lake, ticket store), "
            "e.g. the demo's .tweetcare/demo",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Real-time customer care for Twitter/X: data, models, Kafka, Spark and BentoML."""
    if state_dir is not None:
        from tweetcare.core.settings import get_settings
        from tweetcare.core.state_folder import state_folder_env

        # every command reads its settings from the environment afresh, and so do its children
        os.environ.update(state_folder_env(get_settings(), state_dir))


def _error(message: str) -> None:
    """One line on stderr, whatever the message holds (a URL's password masked: errors quote
    the store's or the registry's URL, and end up in logs and pasted into chats)."""
    from tweetcare.core.redact import redact

    text = redact(" ".join(str(message).split()))
    typer.echo(f"error: {text}", err=True)


def _usage_error(err: Any) -> int:
    """A usage error (unknown command or option, bad value) as one line; exit 2 as click does."""
    if type(err).__name__ == "NoArgsIsHelpError":  # a group run bare: its help, as click does
        if err.format_message().strip():  # typer's rich help has printed itself already
            typer.echo(err.format_message(), err=True)
        return USAGE
    ctx = getattr(err, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    _error(f"{err.format_message()}{hint}")
    return int(getattr(err, "exit_code", USAGE))


def exit_code_of(err: Exception) -> int | None:
    """The exit code of an error meant for the user (see `exit_codes`); None for a bug."""
    from tweetcare.core.errors import UsageError, UserError
    from tweetcare.process import ServiceError

    if isinstance(err, UsageError):
        return USAGE
    if isinstance(err, (UserError, ServiceError)):
        return FAILURE
    return None


def main() -> int:
    """Run the CLI and return its exit code; known failures print one line, never a traceback.

    `app(standalone_mode=False)` hands back the code of a `typer.Exit` instead of exiting, and
    raises usage errors instead of printing them: both are turned into the process's exit code.
    """
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        _error("aborted")
        return FAILURE
    except typer.TyperException as err:  # typer >= 0.29 raises its bundled click's exceptions
        return _usage_error(err)
    except Exception as err:
        code = exit_code_of(err)
        if code is not None:
            _error(str(err))
            return code
        click = sys.modules.get("click")  # typer < 0.29 raises click's own
        if click is not None and isinstance(err, click.ClickException):
            return _usage_error(err)
        raise
    return code if isinstance(code, int) else 0
