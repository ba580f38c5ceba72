"""`tweetcare stream start|stop|status`: the Spark job as a supervised background service.

The job runs under `spark-submit` by file path (nothing imports `streaming/`), with the caller's
settings passed down as `TWEETCARE_*` variables so both sides agree on every endpoint. A small
supervisor (tweetcare/supervisor.py) is the background service: it starts the job and restarts
it with backoff when it dies. `status` puts together the supervisor's state, the job's progress
file and the topic's end offsets from Kafka: up or down, lag, last error, restarts. The service
holds a lock beside its checkpoint for its whole life, so a second job on the same checkpoint
(a concurrent `start`, another state folder pointed at it) is refused with one line.
"""

from __future__ import annotations

import contextlib
import json
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

import typer
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

import tweetcare
from tweetcare.core.errors import UserError
from tweetcare.core.redact import is_secret_name, redact, redact_url
from tweetcare.core.settings import Settings, get_settings
from tweetcare.monitoring.lake_lag import measure
from tweetcare.process import Service, ServiceError, stop_process
from tweetcare.supervisor import read_state, running_job
from tweetcare.tickets import TicketStore

SERVICE_NAME = "stream"
START_TIMEOUT_S = 300.0
# a clean stop lets the running micro-batch finish; after this the process group is signalled
STOP_TIMEOUT_S = 90.0
# how long `status` waits for Kafka to tell the topic's end offsets
STATUS_KAFKA_TIMEOUT_MS = 10_000

app = typer.Typer(no_args_is_help=True, help="The Spark Structured Streaming job.")


def job_path() -> Path:
    return Path(tweetcare.__file__).resolve().parents[1] / "streaming" / "job.py"


def checkpoint_lock_file(settings: Settings) -> Path:
    """The lock beside the job's checkpoint (`<checkpoint>.lock`): whatever state folder starts
    a job, two on one checkpoint cannot both run. A checkpoint in an object store (s3a://) has
    no file system to lock in: its lock lives in the state folder."""
    location = urlparse(settings.checkpoint_location)
    if location.scheme not in ("", "file"):
        return settings.state_dir / f"{SERVICE_NAME}.lock"
    checkpoint = Path(location.path if location.scheme else settings.checkpoint_location)
    return checkpoint.with_name(f"{checkpoint.name}.lock")


def stream_service(settings: Settings) -> Service:
    return Service(SERVICE_NAME, settings.state_dir, checkpoint_lock_file(settings))


def ready_file(settings: Settings) -> Path:
    """The job touches it once its query runs."""
    return settings.state_dir / f"{SERVICE_NAME}.ready"


def stop_file(settings: Settings) -> Path:
    """Its appearance asks the job to stop between two micro-batches."""
    return settings.state_dir / f"{SERVICE_NAME}.stop"


def supervisor_file(settings: Settings) -> Path:
    """The supervisor's state: the job's pid, restarts, the last exit (tweetcare/supervisor.py)."""
    return settings.state_dir / f"{SERVICE_NAME}.supervisor.json"


def progress_file(settings: Settings) -> Path:
    """Written by the job after each batch: the offsets it finished, counts, its last error."""
    return settings.state_dir / f"{SERVICE_NAME}.progress.json"


def spark_submit_command(settings: Settings) -> list[str]:
    """spark-submit for `settings.spark_master` with `settings.spark_conf`, Delta's extension
    and the project's code zipped for the executors (`--py-files`, as on a real cluster)."""
    spark_submit = Path(sys.executable).parent / "spark-submit"
    jars = sorted((settings.jars_dir / "spark").resolve().glob("*.jar"))
    if not spark_submit.exists():
        raise UserError(f"{spark_submit} not found: install pyspark into this environment")
    if not jars:
        raise UserError(
            f"no Kafka connector jars in {settings.jars_dir / 'spark'}: run `make jars`"
        )
    root = job_path().parents[1]
    code = (settings.state_dir / "stream-code.zip").resolve()
    code.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(code, "w", zipfile.ZIP_DEFLATED) as archive:
        for package in ("tweetcare", "streaming"):
            for source in sorted((root / package).rglob("*.py")):
                archive.write(source, source.relative_to(root).as_posix())
    conf = {
        "spark.ui.enabled": "false",
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        **public_conf(settings.spark_conf),
    }
    return [
        str(spark_submit),
        "--master",
        settings.spark_master,
        "--jars",
        ",".join(str(jar) for jar in jars),
        "--py-files",
        str(code),
        *(arg for key, value in conf.items() for arg in ("--conf", f"{key}={value}")),
        str(job_path()),
        "--ready-file",
        str(ready_file(settings).resolve()),
        "--stop-file",
        str(stop_file(settings).resolve()),
    ]


def public_conf(conf: dict[str, str]) -> dict[str, str]:
    """The conf that may go on the command line, which `ps`, the supervisor's log and its state
    file show. Secrets (the S3 secret key, passwords) stay off it: they reach the job in its
    environment (`TWEETCARE_SPARK_CONF`, `TWEETCARE_AWS_SECRET_ACCESS_KEY`), and the job's own
    session builder applies them (`streaming/job.py`'s `build_session`)."""
    return {key: value for key, value in conf.items() if not is_secret_name(key)}


def supervised(settings: Settings, job: list[str]) -> list[str]:
    """The supervisor's command line around the job's."""
    return [
        sys.executable,
        "-m",
        "tweetcare.supervisor",
        "--state-file",
        str(supervisor_file(settings).resolve()),
        "--stop-file",
        str(stop_file(settings).resolve()),
        "--max-failures",
        str(settings.stream_max_failures),
        "--",
        *job,
    ]


def start_stream(settings: Settings, job: list[str] | None = None) -> None:
    """Start the supervised job unless it runs, and wait until its query has started.

    `job` replaces the spark-submit command line (tests run a stand-in job). ServiceError (one
    line) when another job holds the checkpoint, or is being started on it."""
    service = stream_service(settings)
    if service.is_running():
        return
    service.state_dir.mkdir(parents=True, exist_ok=True)
    with service.starting() as launch:  # nothing of a running job's is touched before this
        command = supervised(settings, job or spark_submit_command(settings))
        for stale in (ready_file(settings), stop_file(settings), supervisor_file(settings)):
            stale.unlink(missing_ok=True)
        env = {
            **settings.to_env(),
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
        }
        launch(command, env=env, cwd=Path.cwd())
    service.wait_until(ready_file(settings).exists, START_TIMEOUT_S, "started its query")


def stop_stream(settings: Settings) -> bool:
    """Stop supervision and the job between two micro-batches (signals if it does not stop);
    True if it was running."""
    service = stream_service(settings)
    if not service.is_running():
        _kill_orphaned_job(settings)
        return False
    stop_file(settings).touch()
    # still running after the grace period: the signals below end it (its batch replays later)
    with contextlib.suppress(ServiceError):
        service.wait_until(lambda: not service.is_running(), STOP_TIMEOUT_S, "stopped cleanly")
    service.stop()
    _kill_orphaned_job(settings)
    for marker in (ready_file(settings), stop_file(settings)):
        marker.unlink(missing_ok=True)
    return True


def _kill_orphaned_job(settings: Settings) -> None:
    """A job whose supervisor was killed outright would run on unsupervised: end it too (only
    the very process the supervisor started, never another one given its pid since)."""
    job = running_job(read_state(supervisor_file(settings)))
    if job is not None:
        stop_process(job)


def topic_end_offsets(settings: Settings, topic: str) -> dict[str, int]:
    """The next offset of each partition of `topic`, by partition number (as a string)."""
    consumer = KafkaConsumer(
        **settings.kafka_client_options(),
        client_id="tweetcare-status",
        bootstrap_timeout_ms=STATUS_KAFKA_TIMEOUT_MS,
        request_timeout_ms=STATUS_KAFKA_TIMEOUT_MS,
    )
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        ends = consumer.end_offsets(
            [TopicPartition(topic, p) for p in sorted(partitions)],
            timeout_ms=STATUS_KAFKA_TIMEOUT_MS,
        )
    finally:
        consumer.close()
    return {str(tp.partition): int(offset) for tp, offset in ends.items()}


def lag_of(ends: dict[str, int], done: dict[str, int]) -> dict[str, int]:
    """Messages in each partition the job has not finished (all of them if it never ran)."""
    return {p: max(end - int(done.get(p, 0)), 0) for p, end in sorted(ends.items())}


def stream_health(settings: Settings) -> dict[str, Any]:
    """Up or down, lag behind the topic, last error and restarts, as one JSON-ready object."""
    supervisor_pid = stream_service(settings).pid()
    saved = read_state(supervisor_file(settings))
    state = saved if supervisor_pid else {}
    # a supervisor that gave up (a crash loop, a job that cannot start) says why until restarted
    gave_up = (
        saved.get("last_error") if not supervisor_pid and saved.get("state") == "failed" else None
    )
    job = running_job(state)
    up = job is not None
    progress = read_state(progress_file(settings))
    # tweets not scored yet, and scored rows not merged into the lake yet (a Kafka that did not
    # answer for the one is not asked again for the other: `status` stays one timeout long)
    lag = topic_lag(settings, settings.topic_tweets, progress.get("end_offsets", {}))
    lake_lag = dict(lag) if lag["error"] else lake_lag_of(settings, progress)
    return {
        "up": up,
        "state": state.get("state", "stopped")
        if supervisor_pid
        else "failed"
        if gave_up
        else "stopped",
        "supervisor_pid": supervisor_pid,
        "job_pid": job.pid if job is not None else None,
        "restarts": int(state.get("restarts", 0)),
        "last_exit_code": state.get("last_exit_code"),
        "last_error": _redacted(gave_up or progress.get("last_error") or state.get("last_error")),
        "last_batch": progress.get("batch_id"),
        "updated_at": progress.get("updated_at"),
        "rows": progress.get("rows"),
        "dead_letters": progress.get("dead_letters"),
        "lag": lag,
        "lake_lag": lake_lag,
    }


def lake_lag_of(settings: Settings, progress: dict[str, Any]) -> dict[str, Any]:
    """Scored rows not merged into the lake yet, and whether they wait too long (an alert)."""
    merged = progress.get("lake_end_offsets", {}).get(settings.lake_rows_topic, {})
    try:
        return measure(settings, merged, datetime.now(UTC)).to_dict() | {"error": None}
    except KafkaError as err:
        error = redact(f"Kafka at {settings.kafka_bootstrap} did not answer: {err}")
        return {"total": None, "partitions": {}, "error": error, "alert": None}


def topic_lag(settings: Settings, topic: str, done: dict[str, Any]) -> dict[str, Any]:
    """`lag_of` one of the job's source topics, or why Kafka could not tell."""
    lag: dict[str, Any] = {"total": None, "partitions": {}, "error": None}
    try:
        partitions = lag_of(topic_end_offsets(settings, topic), done.get(topic, {}))
        lag |= {"total": sum(partitions.values()), "partitions": partitions}
    except KafkaError as err:
        lag["error"] = redact(f"Kafka at {settings.kafka_bootstrap} did not answer: {err}")
    return lag


@app.command("start")
def start() -> None:
    """Start the supervised streaming job in the background (no-op when it runs)."""
    settings = get_settings()
    start_stream(settings)
    Console().print(f"stream running; log: {stream_service(settings).log_file}")


@app.command("stop")
def stop() -> None:
    """Stop the streaming job and its supervisor; its checkpoint keeps where it got to."""
    stopped = stop_stream(get_settings())
    Console().print("stream stopped" if stopped else "stream was not running")


@app.command("status")
def status(
    tickets: Annotated[int, typer.Option(help="how many recent tickets to list")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
) -> None:
    """Up or down (exit code 1 when down), lag behind the topic, last error, restarts, what the
    store holds, and optionally the latest tickets."""
    settings = get_settings()
    health = stream_health(settings)
    if as_json:
        print(json.dumps(health))
        raise typer.Exit(0 if health["up"] else 1)
    console = Console()
    console.print(
        f"stream: {'[green]up[/]' if health['up'] else '[yellow]down[/]'} "
        f"({health['state']}; restarts: {health['restarts']})"
    )
    lag = health["lag"]
    if lag["error"]:
        console.print(f"lag: unknown ({lag['error']})")
    else:
        parts = ", ".join(f"{p}: {n}" for p, n in lag["partitions"].items())
        console.print(f"lag: {lag['total']} messages behind `{settings.topic_tweets}` ({parts})")
    lake_lag = health["lake_lag"]
    if lake_lag["total"] is not None:
        console.print(f"lake: {lake_lag['total']} scored rows waiting to be merged")
    if lake_lag.get("alert"):
        console.print(
            f"[bold red]lake lag alert[/]: {lake_lag['overdue']} scored rows have waited more "
            f"than {lake_lag['alert_after_s']:.0f}s (the lake query is failing or too slow)"
        )
    if health["last_batch"] is not None:
        console.print(f"last batch: {health['last_batch']} at {health['updated_at']}")
    console.print(f"last error: {health['last_error'] or '-'}")
    _print_store(console, settings, tickets)
    if not health["up"]:
        raise typer.Exit(1)


def _redacted(error: Any) -> Any:
    """An error the job or the supervisor wrote, without the secrets it may quote."""
    return redact(error) if isinstance(error, str) else error


def _print_store(console: Console, settings: Settings, tickets: int) -> None:
    where = redact_url(settings.tickets_db_url)
    store = TicketStore(settings.tickets_db_url)
    try:
        _print_store_tables(console, store, where, tickets)
    except SQLAlchemyError as err:
        console.print(f"tickets store ({where}): unreachable ({redact(_first_line(err))})")
    finally:
        store.close()


def _first_line(err: SQLAlchemyError) -> str:
    """The driver's own message, not SQLAlchemy's statement and parameters."""
    orig = getattr(err, "orig", None)
    lines = str(orig if orig is not None else err).strip().splitlines()
    return f"{type(orig or err).__name__}: {lines[0] if lines else ''}"


def _print_store_tables(console: Console, store: TicketStore, where: str, tickets: int) -> None:
    table = Table(title=f"tickets store ({where})")
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
