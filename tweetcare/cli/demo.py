"""`tweetcare demo`: the main job, end to end on the real stack, on the embedded data.

Data → `dvc repro` (validate, split, train, register the champion) → Kafka broker → BentoML
server → Spark streaming job → replay of tweets (plus a few malformed messages, to show the
dead-letter path) → a reconciled summary. Whatever it started, it stops.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from tweetcare.cli.serve import start_server, stop_server
from tweetcare.cli.stream import start_stream, stop_stream
from tweetcare.core.errors import UserError
from tweetcare.core.params import Params, load_params
from tweetcare.core.settings import Settings, get_settings
from tweetcare.data.generator import write_dataset
from tweetcare.data.versioning import check_data_version, venv_env
from tweetcare.kafka.broker import start_broker, stop_broker
from tweetcare.kafka.replay import publish_raw, replay
from tweetcare.kafka.topics import ensure_topics
from tweetcare.summary import Summary, collect_summary, consumed_messages
from tweetcare.tickets import TicketStore
from tweetcare.ui.config import DEFAULT_PORT
from tweetcare.ui.launcher import console_url

console = Console()

# Messages the demo injects so the dead-letter path shows in the summary.
MALFORMED_EXAMPLES: tuple[bytes, ...] = (
    b"not json at all",
    b'{"tweet_id": "x1", "author_id": "42"}',
    b'["a", "list", "not", "an", "object"]',
    (
        b'{"tweet_id": "x2", "author_id": "42", "inbound": "maybe", "created_at": '
        b'"Tue Oct 31 22:10:47 +0000 2017", "text": "hello", "conversation_id": "x2"}'
    ),
    b"\xff\xfe not utf-8",
)


def ensure_data(params: Params) -> None:
    """Generate the default data if absent and prove it is the version data.dvc records."""
    raw = params.data.raw
    if not raw.exists():
        if raw.parent != Path("data"):
            raise UserError(f"{raw} does not exist (params.yaml data.raw); import it first")
        console.print(f"generating {params.generate.rows:,} synthetic tweets into data/ ...")
        write_dataset(Path("data"), rows=params.generate.rows, seed=params.generate.seed)
    if Path("data.dvc").exists():
        check_data_version(Path("data.dvc"))


# the stages that write to MLflow: rerun for a registry that has not seen this pipeline's runs
MLFLOW_STAGES = ("train", "register", "evaluate", "train_analysis")


def run_pipeline(retrain: bool = False) -> None:
    console.rule("dvc repro")
    commands = [["dvc", "repro"]]
    if retrain:
        commands.append(["dvc", "repro", "--force", "--single-item", *MLFLOW_STAGES])
    for command in commands:
        if subprocess.run(command, env=venv_env(), check=False).returncode != 0:
            raise UserError(f"`{' '.join(command)}` failed (see its output above)")


def reset_runtime_state(settings: Settings) -> None:
    """Start the stream from a clean slate so the summary counts this run alone."""
    targets = [settings.lake_dir, settings.state_dir]
    if settings.tickets_db_url.startswith("sqlite:///"):
        db = Path(settings.tickets_db_url.removeprefix("sqlite:///"))
        targets += [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    for target in targets:
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


@contextmanager
def running_stack(settings: Settings) -> Iterator[None]:
    """Kafka, the model server and the stream job, stopped in reverse order whatever happens."""
    with ExitStack() as stack:
        if not settings.kafka_bootstrap_servers:  # else: an existing cluster, not ours to run
            console.print(f"starting Kafka on {settings.kafka_bootstrap} ...")
            start_broker(settings)
            stack.callback(stop_broker, settings)
        ensure_topics(settings)
        console.print(f"starting BentoML on {settings.bento_url} ...")
        start_server(settings)
        stack.callback(stop_server, settings)
        console.print("starting the Spark streaming job ...")
        start_stream(settings)
        stack.callback(stop_stream, settings)
        yield
        console.print("stopping the stream, the model server and Kafka ...")


def wait_for_stream(settings: Settings, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("stream processed", total=expected)
        while True:
            done = consumed_messages(settings)
            progress.update(task, completed=done)
            if done >= expected:
                return
            if time.monotonic() > deadline:
                raise UserError(
                    f"the stream processed {done} of {expected} messages in {timeout:.0f}s; "
                    f"see {settings.state_dir / 'logs' / 'stream.log'}"
                )
            time.sleep(1.0)


def report(summary: Summary) -> None:
    console.rule("summary")
    for line in summary.lines():
        print(line)
    problems = summary.problems()
    if problems:
        raise UserError("the figures do not reconcile: " + "; ".join(problems))
    console.print("[green]reconciled:[/] replayed = lake rows + dead-lettered")


def report_tickets(settings: Settings) -> None:
    """What the support team would now see: where tickets went and what happened to replies."""
    store = TicketStore(settings.tickets_db_url)
    try:
        stats = store.ticket_stats()
    finally:
        store.close()
    console.rule("tickets")
    for name in ("by_team", "by_priority", "by_status", "replies"):
        figures = ", ".join(f"{key} {n}" for key, n in stats[name].items())
        print(f"{name.removeprefix('by_')}: {figures or '-'}")
    waits = stats["first_response_seconds"]
    if waits:
        print(f"first response (median s): {waits['median']:.0f} over {stats['responded']} tickets")


def demo(
    limit: Annotated[int, typer.Option(help="tweets to replay from the data")] = 2000,
    rate: Annotated[
        float | None, typer.Option(help="messages per second (default: as fast as possible)")
    ] = None,
    malformed: Annotated[
        bool, typer.Option(help="also send a few malformed messages to show the dead letters")
    ] = True,
    fresh: Annotated[
        bool, typer.Option(help="clear the lake, tickets and stream state before the run")
    ] = True,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the stream")] = 600.0,
    retrain: Annotated[
        bool, typer.Option(help="rerun the MLflow stages (a new tracking server has no models)")
    ] = False,
) -> None:
    """Run the whole system once on the embedded data and print a reconciled summary."""
    started = time.monotonic()
    settings = get_settings()
    params = load_params()
    ensure_data(params)
    run_pipeline(retrain)
    if fresh:
        reset_runtime_state(settings)
    with running_stack(settings):
        console.rule(f"replaying {limit} tweets")
        sent = replay(params.data.raw, settings, rate=rate, limit=limit).sent
        if malformed:
            sent += publish_raw(settings, list(MALFORMED_EXAMPLES))
        wait_for_stream(settings, sent, timeout)
        summary = collect_summary(settings, replayed=sent)
    report(summary)
    report_tickets(settings)
    console.print(f"demo finished in {time.monotonic() - started:.0f}s")
    console.print(
        f"agent console: `tweetcare serve start && tweetcare ui`, then open "
        f"{console_url(DEFAULT_PORT)}"
    )
