"""`tweetcare kafka start|stop|status`: the local KRaft broker the stream reads from."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from tweetcare.core.settings import get_settings
from tweetcare.kafka.broker import broker_status, start_broker, stop_broker
from tweetcare.kafka.topics import ensure_topics

app = typer.Typer(no_args_is_help=True, help="Run the local Kafka broker (KRaft, one node).")


@app.command()
def start() -> None:
    """Start the broker (if needed) and create the project's topics."""
    settings = get_settings()
    console = Console()
    with console.status(f"starting Kafka on {settings.kafka_bootstrap} …"):
        start_broker(settings)
        created = ensure_topics(settings)
    if created:
        console.print(f"created topics: {', '.join(created)}")
    console.print(f"Kafka is up at [bold]{settings.kafka_bootstrap}[/]")


@app.command()
def stop() -> None:
    """Stop the broker; harmless when it is not running."""
    stopped = stop_broker(get_settings())
    Console().print("Kafka stopped" if stopped else "Kafka was not running")


@app.command()
def status() -> None:
    """Show whether the broker runs, where, and its topics."""
    state = broker_status(get_settings())
    table = Table(title="Kafka broker", show_header=False)
    table.add_row("running", "[green]yes[/]" if state.running else "[red]no[/]")
    table.add_row("pid", str(state.pid) if state.pid is not None else "-")
    table.add_row("bootstrap", state.bootstrap)
    table.add_row("topics", ", ".join(state.topics) or "-")
    Console().print(table)
