"""`tweetcare ui start`: the agent console (Streamlit) in the foreground, with the project's
settings. A bare `tweetcare ui` is its old spelling, kept so scripts keep working."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.console import Console

from tweetcare.core.errors import UsageError, UserError
from tweetcare.core.settings import get_settings
from tweetcare.process import port_open
from tweetcare.ui.config import DEFAULT_PORT
from tweetcare.ui.launcher import LOOPBACK, console_command, console_env, console_url

console = Console()
app = typer.Typer(
    help="The agent console (Streamlit): `tweetcare ui start` runs it in the foreground.",
    invoke_without_command=True,
)
PortOption = Annotated[int, typer.Option(help="port the console listens on")]
AddressOption = Annotated[
    str, typer.Option(help="address to listen on (0.0.0.0 shares it on the network)")
]


@app.callback()
def ui(
    ctx: typer.Context, port: PortOption = DEFAULT_PORT, address: AddressOption = LOOPBACK
) -> None:
    """The agent console: `tweetcare ui start` runs it in the foreground."""
    if ctx.invoked_subcommand is None:
        typer.echo("note: `tweetcare ui` is now `tweetcare ui start`", err=True)
        start(port, address)


@app.command("start")
def start(port: PortOption = DEFAULT_PORT, address: AddressOption = LOOPBACK) -> None:
    """Run the agent console in the foreground until Ctrl-C (it has no stop: Ctrl-C is its
    stop): try a tweet, the ticket queues, live figures, models.

    It reads the same TWEETCARE_* settings as the rest (model server, ticket store, lake,
    MLflow); a page whose backend is down says which one and how to start it.
    """
    if not 0 < port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, not {port}")
    if port_open(LOOPBACK if address == "0.0.0.0" else address, port):
        raise UserError(f"port {port} is already in use; pick another with --port")
    settings = get_settings()
    console.print(f"agent console at {console_url(port, address)} (Ctrl-C stops it)")
    command = console_command(port, address)
    # become streamlit: Ctrl-C and a SIGTERM reach the server itself, with nothing left behind
    os.execve(command[0], command, {**os.environ, **console_env(settings)})
