"""`tweetcare demo`: the main job, end to end on the real stack, on the embedded data.

Data → `dvc repro` (validate, split, train, register the champion) → Kafka broker → BentoML
server → Spark streaming job → replay of tweets, then a generated "live hour" (a shift and a
burst on the hour ending now, `monitor.live_hour`) and a few malformed messages (to show the
dead-letter path) → a reconciled summary → one monitor run over the live hour (drift reports,
escalation alerts, incidents). Whatever it started, it stops.

The run keeps its own state (broker data, lake, ticket store, checkpoints, logs) in one folder,
`.tweetcare/demo/` by default, so it never touches the state at the default paths.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from serving.config import AnalysisSettings
from serving.launcher import server
from training.restore import store_uri
from tweetcare.cli.json_output import print_document, stdout_to_stderr
from tweetcare.cli.serve import model_info, start_server, stop_server
from tweetcare.cli.stream import start_stream, stop_stream
from tweetcare.core.contract import ANALYZE_UNAVAILABLE_KEY
from tweetcare.core.errors import UserError
from tweetcare.core.params import Params, load_params
from tweetcare.core.settings import Settings, get_settings
from tweetcare.core.state_folder import settings_in
from tweetcare.data.generator import write_dataset
from tweetcare.data.versioning import check_data_version, venv_env
from tweetcare.kafka.broker import start_broker, stop_broker
from tweetcare.kafka.replay import publish_messages, publish_raw, replay
from tweetcare.kafka.topics import ensure_topics
from tweetcare.monitoring.config import MonitorParams, load_monitor_params
from tweetcare.monitoring.live_hour import (
    TIME_COLUMN,
    live_hour_messages,
    live_hour_params,
    live_hour_rows,
)
from tweetcare.summary import Summary, collect_summary, consumed_messages, incident_counts
from tweetcare.tickets import TicketStore
from tweetcare.ui.config import DEFAULT_PORT
from tweetcare.ui.launcher import console_url

if TYPE_CHECKING:
    from tweetcare.monitoring.runner import MonitorResult

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


DEFAULT_STATE_DIR = Path(".tweetcare/demo")
TRAIN_ANALYSIS_HINT = (
    "train and register them with `dvc repro --force --single-item train_analysis register` "
    "(or `tweetcare demo --retrain`), then run the demo again; a model its promotion gate kept "
    "off @champion says why in artifacts/analysis/report.json"
)
CHANGED_DATA_HINT = (
    "to run the demo on this data, record it as the new version: `dvc add data` (and commit "
    "data.dvc); to go back to the embedded data: `rm -r data && tweetcare data generate`"
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
        try:
            check_data_version(Path("data.dvc"))
        except UserError as err:
            raise UserError(f"{str(err).splitlines()[0]}; {CHANGED_DATA_HINT}") from err


def demo_settings(settings: Settings, state_dir: Path) -> Settings:
    """The caller's settings with the local runtime state moved into the demo's own folder
    (the same move `tweetcare --state-dir` makes, so later commands find the demo's state)."""
    return settings_in(settings, state_dir)


# the stages that write to MLflow, register (the store's owner) last: rerun for --retrain
MLFLOW_STAGES = ("train", "evaluate", "train_analysis", "register")


def is_tracking_server(settings: Settings) -> bool:
    """True when MLflow tracks to a server rather than a local store the pipeline owns."""
    return not settings.mlflow_tracking_uri.startswith("sqlite:")


def pipeline_env(settings: Settings, registry_file: Path) -> dict[str, str]:
    """`dvc repro`'s environment. On a tracking server (a cluster's MLflow) the stages still log
    to the pipeline's own store when `register.registry_file` names one (the default mlflow.db,
    the file DVC follows), so the pipeline's state is the same whoever runs it and wherever;
    publish_champions then registers its champions on the server. A receipt there instead means
    the pipeline itself tracks to the server: the environment is left as it is."""
    env = venv_env()
    store = store_uri(registry_file)
    if store is not None and is_tracking_server(settings):
        env |= {"TWEETCARE_MLFLOW_TRACKING_URI": store, "MLFLOW_TRACKING_URI": store}
    return env


def run_pipeline(settings: Settings, registry_file: Path, retrain: bool = False) -> None:
    if retrain and is_tracking_server(settings):
        raise UserError(
            f"--retrain reruns the MLflow stages into the pipeline's own store, but MLflow tracks "
            f"to {settings.mlflow_tracking_uri}; leave --retrain out (the demo registers the "
            "pipeline's champions on the server from their DVC-cached copies), or retrain into "
            "the server with `dvc exp run -S register.registry_file=artifacts/registry.json`"
        )
    console.rule("dvc repro")
    # a deleted mlflow.db needs nothing special: register owns it, so `dvc repro` restores it
    commands = [["dvc", "repro"]]
    if retrain:
        commands.append(["dvc", "repro", "--force", "--single-item", *MLFLOW_STAGES])
    env = pipeline_env(settings, registry_file)
    for command in commands:
        result = subprocess.run(command, env=env, check=False)
        if result.returncode != 0:
            raise UserError(f"`{' '.join(command)}` failed (see its output above)")


def publish_champions(settings: Settings) -> None:
    """A tracking server (a new cluster's MLflow) gets the pipeline's champions: the register
    stage's own code registers them from their DVC-cached copies, nothing is retrained. Its
    receipt and metrics go in the demo's folder, so the repository's DVC state stays as it
    is. A server that already holds them is left as it is."""
    if not is_tracking_server(settings):
        return
    console.rule(f"champions → {settings.mlflow_tracking_uri}")
    command = [
        sys.executable,
        "-m",
        "pipelines.register",
        "--registry-file",
        str(settings.state_dir / "registry.json"),
        "--metrics-path",
        str(settings.state_dir / "register.json"),
    ]
    env = {**venv_env(), "TWEETCARE_MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri}
    if subprocess.run(command, env=env, check=False).returncode != 0:
        raise UserError(
            f"registering the champions on {settings.mlflow_tracking_uri} failed (see above)"
        )


def reset_demo_state(settings: Settings) -> None:
    """Stop what a previous demo left running, then empty the demo's folder (and only it), so
    the summary counts this run alone."""
    stop_stream(settings)
    stop_server(settings)
    stop_broker(settings)
    if settings.state_dir.is_dir():
        shutil.rmtree(settings.state_dir)


def ensure_analysis_served(settings: Settings) -> None:
    """Raise UserError naming the analysis models the running model server lacks, if any.

    The stream reads /analyze and waits out a 503 as an outage, so a server started without
    its analysis models would leave the demo waiting forever; /model_info says why instead.
    """
    info = model_info(settings)
    if info is None:
        raise UserError(
            f"the model server at {settings.bento_url} does not answer /model_info; see "
            f"{server(settings).log_file}"
        )
    why = info.get(ANALYZE_UNAVAILABLE_KEY)
    if not why:
        return
    served = info.get("models") or {}
    missing = [name for name in AnalysisSettings().model_names.values() if name not in served]
    detail = f"{', '.join(missing)} not loaded: {why}" if missing else str(why)
    raise UserError(
        f"the model server cannot answer /analyze, which the stream needs ({detail}); "
        f"{TRAIN_ANALYSIS_HINT}"
    )


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
        ensure_analysis_served(settings)
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


def send_live_hour(
    settings: Settings, params: MonitorParams, rate: float | None
) -> tuple[int, datetime]:
    """Publish the live hour (generated now, so its hour ends now) like replayed tweets; returns
    how many were acknowledged (they count as replayed) and the `created_at` it ends at."""
    rows = live_hour_rows(params, datetime.now(UTC))
    hour = live_hour_params(params)
    console.rule(f"live hour: {len(rows)} generated tweets")
    print(
        f"created_at {rows[TIME_COLUMN].min():%H:%M:%S} .. {rows[TIME_COLUMN].max():%H:%M:%S} "
        f"UTC: a {hour.shift} shift in the last {_minutes(params.window)}, {hour.burst} "
        f"complaints to {hour.brand} in the last {_minutes(hour.burst_duration)}"
    )
    sent = publish_messages(settings, live_hour_messages(rows), rate=rate)
    return sent.sent, rows[TIME_COLUMN].max().to_pydatetime()


def monitor_live_hour(settings: Settings, params: MonitorParams, end: datetime) -> MonitorResult:
    """One monitor run, its windows cut on the live hour's own `created_at` and ending where the
    hour ends (the replay's `processed_at` spans a minute, the data's dates are years old). Its
    reports stay in the demo's folder; MLflow only on a tracking server, since the local store
    belongs to the pipeline's register stage (DVC would see it modified)."""
    from tweetcare.monitoring.runner import run_monitor  # Evidently: imported when it runs

    console.rule(f"monitor: the live hour, windows on {TIME_COLUMN}")
    return run_monitor(
        settings,
        params.model_copy(update={"time_column": TIME_COLUMN}),
        end=end,
        reports_dir=settings.state_dir / "monitoring",
        track=is_tracking_server(settings),
    )


def report_monitor(settings: Settings, result: MonitorResult) -> None:
    """What the monitor found in the live hour and where it put it; finding nothing is said,
    not an error."""
    console.rule("monitor")
    print(
        f"window {result.window_start:%Y-%m-%d %H:%M:%S} .. {result.window_end:%H:%M:%S} UTC "
        f"({TIME_COLUMN}): {result.rows} tweets, {result.dead_letters} dead letters"
    )
    if result.note:
        print(f"drift not judged: {result.note}")
    if result.escalation_note:
        print(f"escalations not judged: {result.escalation_note}")
    for comparison in result.comparisons:
        breaches = ", ".join(
            f"{m.key} {m.value:.3f} ({m.method}, threshold {m.threshold:g})"
            for m in comparison.breaches
        )
        print(f"drift vs {comparison.reference} data: {breaches or 'no breach'}")
        if comparison.html:
            print(f"  drift report: {comparison.html}")
    for alert in result.alerts:
        scope = ", ".join(f"{key}={value}" for key, value in alert.key.items())
        print(
            f"escalation: {alert.kind} {scope}: {alert.count} tweets in "
            f"{_minutes(alert.window_end - alert.window_start)} (threshold {alert.threshold:.1f})"
        )
    if not result.breached and not result.alerts:
        console.print("the monitor found no drift breach and no escalation in the live hour")
        return
    print(f"{result.published} alert(s) published to the `{settings.topic_alerts}` topic")
    if result.alerts:
        held = incident_counts(settings)
        print(
            f"{held['incidents']} incident(s) in the ticket store ({held['active']} active); "
            f"{result.tickets_raised} open ticket(s) raised"
        )


def _minutes(span: timedelta) -> str:
    return f"{span / timedelta(minutes=1):g}m"


def report(summary: Summary) -> None:
    console.rule("summary")
    for line in summary.lines():
        print(line)
    problems = summary.problems()
    if problems:
        raise UserError("the figures do not reconcile: " + "; ".join(problems))
    console.print(
        "[green]reconciled:[/] replayed = lake rows + dead-lettered; each tweet in the lake once"
    )


def report_tickets(settings: Settings) -> dict[str, Any]:
    """What the support team would now see: where tickets went and what happened to replies;
    returns the figures it printed."""
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
    return stats


def demo(
    limit: Annotated[int, typer.Option(help="tweets to replay from the data")] = 2000,
    rate: Annotated[
        float | None, typer.Option(help="messages per second (default: as fast as possible)")
    ] = None,
    malformed: Annotated[
        bool, typer.Option(help="also send a few malformed messages to show the dead letters")
    ] = True,
    fresh: Annotated[
        bool,
        typer.Option(help="empty the demo's state folder first (nothing outside it is touched)"),
    ] = True,
    state_dir: Annotated[
        Path, typer.Option(help="the demo's own folder: broker data, lake, tickets, checkpoints")
    ] = DEFAULT_STATE_DIR,
    live_hour: Annotated[
        bool,
        typer.Option(
            help="after the data, send a generated hour ending now with a shift and a burst "
            "(params.yaml monitor.live_hour) and run the monitor over it"
        ),
    ] = True,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the stream")] = 600.0,
    retrain: Annotated[
        bool, typer.Option(help="rerun the MLflow stages into the pipeline's own MLflow store")
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="progress on stderr, then the outcome as one JSON object on stdout"
        ),
    ] = False,
) -> None:
    """Run the whole system once on the embedded data and print a reconciled summary."""
    with stdout_to_stderr() if as_json else nullcontext():
        outcome = run_demo(limit, rate, malformed, fresh, state_dir, live_hour, timeout, retrain)
    if as_json:
        print_document(outcome)


def run_demo(
    limit: int,
    rate: float | None,
    malformed: bool,
    fresh: bool,
    state_dir: Path,
    live_hour: bool,
    timeout: float,
    retrain: bool,
) -> dict[str, Any]:
    """The demo itself (see the module); returns its outcome: the reconciled figures, what the
    monitor found in the live hour, the ticket figures and where its state is."""
    started = time.monotonic()
    settings = demo_settings(get_settings(), state_dir)
    console.print(f"demo state (broker, lake, tickets, logs): [bold]{state_dir}[/]")
    params = load_params()
    monitor_params = load_monitor_params()
    if live_hour:
        live_hour_params(monitor_params)  # a bad block fails now, not after the pipeline
    ensure_data(params)
    run_pipeline(settings, Path(params.register_.registry_file), retrain=retrain)
    if fresh:
        reset_demo_state(settings)
    publish_champions(settings)
    with running_stack(settings):
        console.rule(f"replaying {limit} tweets")
        sent = replay(params.data.raw, settings, rate=rate, limit=limit).sent
        hour_end = None
        if live_hour:
            hour_sent, hour_end = send_live_hour(settings, monitor_params, rate)
            sent += hour_sent
        if malformed:
            sent += publish_raw(settings, list(MALFORMED_EXAMPLES))
        wait_for_stream(settings, sent, timeout)
        summary = collect_summary(settings, replayed=sent)
        found = monitor_live_hour(settings, monitor_params, hour_end) if hour_end else None
    report(summary)
    if found is not None:
        report_monitor(settings, found)
    tickets = report_tickets(settings)
    seconds = time.monotonic() - started
    console.print(f"demo finished in {seconds:.0f}s; its state is in {state_dir}")
    # the lake and the ticket store follow --state-dir; one configured elsewhere (a cluster's
    # s3a:// lake, its Postgres) is in the environment the demo ran with already
    tweetcare = f"tweetcare --state-dir {state_dir}"
    console.print(
        f"look at its tickets: `{tweetcare} tickets list`; agent console: "
        f"`{tweetcare} ui start` (after `{tweetcare} serve start`), then open "
        f"{console_url(DEFAULT_PORT)}",
        highlight=False,
        markup=False,
    )
    return {
        "state_dir": str(state_dir),
        "seconds": round(seconds, 1),
        "summary": asdict(summary),
        "monitor": found.to_dict() if found is not None else None,
        "tickets": tickets,
    }
