"""`tweetcare stream start|stop|status`: the Spark job as a managed background service.

The job runs under `spark-submit` by file path (nothing imports `streaming/`), with the caller's
settings passed down as `TWEETCARE_*` variables so both sides agree on every endpoint.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

import tweetcare
from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings, get_settings
from tweetcare.process import Service, ServiceError
from tweetcare.tickets import TicketStore

SERVICE_NAME = "stream"
START_TIMEOUT_S = 300.0
# a clean stop lets the running micro-batch finish; after this the process group is signalled
STOP_TIMEOUT_S = 90.0

app = typer.Typer(no_args_is_help=True, help="The Spark Structured Streaming job.")


def job_path() -> Path:
    return Path(tweetcare.__file__).resolve().parents[1] / "streaming" / "job.py"


def ready_file(settings: Settings) -> Path:
    """The job touches it once its query runs."""
    return settings.state_dir / f"{SERVICE_NAME}.ready"


def stop_file(settings: Settings) -> Path:
    """Its appearance asks the job to stop between two micro-batches."""
    return settings.state_dir / f"{SERVICE_NAME}.stop"


def spark_submit_command(settings: Settings) -> list[str]:
    spark_submit = Path(sys.executable).parent / "spark-submit"
    jars = sorted((settings.jars_dir / "spark").resolve().glob("*.jar"))
    if not spark_submit.exists():
        raise UserError(f"{spark_submit} not found: install pyspark into this environment")
    if not jars:
        raise UserError(
            f"no Kafka connector jars in {settings.jars_dir / 'spark'}: run `make jars`"
        )
    return [
        str(spark_submit),
        "--master",
        "local[2]",
        "--jars",
        ",".join(str(jar) for jar in jars),
        "--conf",
        "spark.ui.enabled=false",
        str(job_path()),
        "--ready-file",
        str(ready_file(settings).resolve()),
        "--stop-file",
        str(stop_file(settings).resolve()),
    ]


def start_stream(settings: Settings) -> None:
    """Start the job unless it runs, and wait until its query has started."""
    service = Service(SERVICE_NAME, settings.state_dir)
    if service.is_running():
        return
    command = spark_submit_command(settings)
    for stale in (ready_file(settings), stop_file(settings)):
        stale.unlink(missing_ok=True)
    env = {
        **settings.to_env(),
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    }
    service.state_dir.mkdir(parents=True, exist_ok=True)
    service.start(command, env=env, cwd=Path.cwd())
    service.wait_until(ready_file(settings).exists, START_TIMEOUT_S, "started its query")


def stop_stream(settings: Settings) -> bool:
    """Stop the job between two micro-batches (signals if it does not); True if it was running."""
    service = Service(SERVICE_NAME, settings.state_dir)
    if not service.is_running():
        return False
    stop_file(settings).touch()
    # still running after the grace period: the signals below end it (its batch replays later)
    with contextlib.suppress(ServiceError):
        service.wait_until(lambda: not service.is_running(), STOP_TIMEOUT_S, "stopped cleanly")
    service.stop()
    for marker in (ready_file(settings), stop_file(settings)):
        marker.unlink(missing_ok=True)
    return True


@app.command("start")
def start() -> None:
    """Start the streaming job in the background (no-op when it runs)."""
    settings = get_settings()
    start_stream(settings)
    Console().print(f"stream running; log: {Service(SERVICE_NAME, settings.state_dir).log_file}")


@app.command("stop")
def stop() -> None:
    """Stop the streaming job; its checkpoint keeps where it got to."""
    stopped = stop_stream(get_settings())
    Console().print("stream stopped" if stopped else "stream was not running")


@app.command("status")
def status(
    tickets: Annotated[int, typer.Option(help="how many recent tickets to list")] = 0,
) -> None:
    """Whether the job runs, what it has processed so far, and optionally the latest tickets."""
    settings = get_settings()
    console = Console()
    running = Service(SERVICE_NAME, settings.state_dir).is_running()
    console.print(f"stream: {'[green]running[/]' if running else '[yellow]stopped[/]'}")
    store = TicketStore(settings.tickets_db_url)
    try:
        table = Table(title=f"tickets store ({settings.tickets_db_url})")
        table.add_column("count")
        table.add_column("value", justify="right")
        for name, value in store.counts().items():
            table.add_row(name, str(value))
        console.print(table)
        if tickets > 0:
            recent = Table(title="latest tickets")
            for column in ("ticket_id", "brand", "tweets", "updated_at", "text"):
                recent.add_column(column)
            for ticket in store.list_tickets(tickets):
                recent.add_row(
                    ticket.ticket_id,
                    ticket.brand or "-",
                    str(ticket.tweet_count),
                    ticket.updated_at.isoformat(timespec="seconds"),
                    ticket.text[:60],
                )
            console.print(recent)
    finally:
        store.close()
