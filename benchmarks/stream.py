"""How fast is the stream, end to end, on the real stack? Before (the driver-loop job of commit
c1ba26b), previous (executors + Delta, the lake MERGE on the tickets' path, code generation on:
commit 2d4a765) and after (the lake merged by its own query, interpreted plans), measured in the
same run.

Starts a Kafka broker and `bentoml serve` (on the registry of `--registry`, default the demo's
`TWEETCARE_MLFLOW_TRACKING_URI` after `make demo`), then for each job variant: starts the job on
its own topics, lake and ticket store, replays N generated tweets flat out (sustained rate: raw
lake rows per second), then paced replays at fixed offered loads (latency from a tweet's Kafka
timestamp to its ticket's message on `tickets`), sampling memory and CPU time of the job and the
model server all along. Prints a table, and what limits the rate: CPU seconds per 1,000 tweets
of each process tree, and the model server's own /analyze throughput, measured last; then the
peak memory of the job's JVM and Python, the model server and, on a cluster, each worker's
executors, against the 1.5 GB each may use.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/stream.py [--tweets 20000]
        [--loads 100,200,500,1000] [--seconds 20] [--before] [--previous]
        [--variant NAME='{"spark.conf": "value"}' ...]
        [--topology local|cluster [--workers 1,2] [--partitions 2,4]]

`--topology cluster` brings up the local production-shaped cluster (`tweetcare cluster start`: Spark
standalone with two workers, three KRaft brokers, the lake and checkpoints on S3, tickets in
Postgres) and measures the job on it once per number of Spark workers and of partitions of the
tweets topic, so the table shows how the rate moves with each; the cluster stops afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
import pyarrow as pa
import pyarrow.compute as pc
from kafka import KafkaConsumer

from benchmarks.old_code import package_at
from benchmarks.process_sampler import ProcessSampler
from serving.launcher import server, start_server, stop_server
from tweetcare.cli.stream import spark_submit_command, start_stream, stop_stream
from tweetcare.cluster import postgres, spark
from tweetcare.cluster.layout import Layout
from tweetcare.cluster.topology import delete, running_cluster
from tweetcare.core.conversations import conversation_ids
from tweetcare.core.schemas import TWCS_COLUMNS
from tweetcare.core.settings import Settings, get_settings
from tweetcare.core.storage import TWEETS_TABLE, open_table
from tweetcare.data.generator import write_dataset
from tweetcare.kafka.broker import start_broker, stop_broker
from tweetcare.kafka.replay import load_tweets, order_by_created_at, replay
from tweetcare.kafka.topics import ensure_topics
from tweetcare.process import Service
from tweetcare.tickets import TicketStore

ROOT = Path(__file__).resolve().parents[1]
# earlier jobs measured beside the current one: their streaming/ package as of these commits
OLD_JOBS = {"before": "c1ba26b", "previous": "2d4a765"}
WAIT_S = 1800.0
# the generated data the jobs replay (and the server alone is timed on)
DATA_SEED = 11
# issue 31: the job's driver and executors, and the model server, each under 1.5 GB at flat out
MEMORY_LIMIT_MB = 1536


@dataclass
class Figures:
    variant: str
    # rows/s from the first tweet published to the last one in the lake (what a user sees)
    sustained_rate: float = float("nan")
    # the same with the job's start-up (spark-submit to its query running) in front
    startup_s: float = float("nan")
    with_startup_rate: float = float("nan")
    # seconds from the first publish to the first rows in the lake: the pipeline's fill
    first_rows_s: float = float("nan")
    latency: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    jvm_mb: float = 0.0
    python_mb: float = 0.0
    # CPU seconds per 1,000 tweets of the flat-out replay, per process tree
    cpu_per_1000: dict[str, float] = field(default_factory=dict)
    # peak RSS MiB per group ("job jvm", "server", ...): the group's, and its largest process's
    peaks_mb: dict[str, tuple[float, float]] = field(default_factory=dict)
    error: str = ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Variant:
    """One measured configuration: the job (before/previous/after, or the current job under
    extra Spark conf) and, on the cluster, its shape."""

    job: str
    spark_conf: tuple[tuple[str, str], ...] = ()
    # settings fields changed for this variant (e.g. max_offsets_per_trigger)
    settings: tuple[tuple[str, Any], ...] = ()
    # the streaming/ package of this commit instead of the checkout's (`--at`)
    commit: str | None = None
    workers: int | None = None
    partitions: int | None = None

    @property
    def name(self) -> str:
        shape = "" if self.workers is None else f"-w{self.workers}-p{self.partitions}"
        return f"{self.job}{shape}"


def variant_settings(
    base: Settings, work: Path, variant: Variant, layout: Layout | None
) -> Settings:
    """The variant's own topics, state, lake and ticket store: on temp folders and local[2], or
    on the cluster (lake and checkpoint under the cluster's s3a:// lake, its own database,
    which `measure` creates)."""
    name = variant.name
    updates: dict[str, Any] = {
        "state_dir": work / name / "state",
        "lake_dir": work / name / "lake",
        "tickets_db_url": f"sqlite:///{work / name / 'tickets.db'}",
        "topic_tweets": f"bench-{name}-tweets",
        "topic_tickets": f"bench-{name}-tickets",
        "topic_dlq": f"bench-{name}-dlq",
        "topic_replies": f"bench-{name}-replies",
        "checkpoint_uri": "",
    }
    if variant.spark_conf:
        updates["spark_conf"] = {**base.spark_conf, **dict(variant.spark_conf)}
    updates.update(dict(variant.settings))
    if layout is None:
        updates |= {"spark_master": "local[2]", "lake_uri": ""}
    else:
        updates |= {
            "tickets_db_url": layout.postgres_url(database_name(variant)),
            "lake_uri": f"{base.lake_uri.rstrip('/')}/bench-{name}",
            "checkpoint_uri": f"{base.checkpoint_uri.rstrip('/')}/bench-{name}",
            "topic_partitions": variant.partitions,
        }
    return base.model_copy(update=updates)


def database_name(variant: Variant) -> str:
    return f"bench_{variant.name.replace('-', '_')}"


def use_workers(layout: Layout, count: int) -> None:
    """Exactly `count` of the cluster's Spark workers running (the others stopped cleanly)."""
    for worker in spark.workers():
        if worker <= count:
            spark.start_worker(layout, worker, wait=False)  # waited for below, `count` of them
        else:
            spark.stop_worker(layout, worker)
    spark.wait_for_workers(layout, count)


def lake_rows(settings: Settings, variant: Variant) -> int:
    """Raw rows in the lake: the Delta table's file statistics, or the old Parquet files."""
    if variant.job == "before":
        import pyarrow.dataset as ds

        folder = settings.lake_dir / "tweets"
        if not folder.exists():
            return 0
        try:
            return ds.dataset(folder, format="parquet", partitioning="hive").count_rows()
        except (pa.ArrowInvalid, OSError):  # a file the old job is still writing: next poll
            return 0
    table = open_table(settings, TWEETS_TABLE)
    if table is None:
        return 0
    actions = pa.table(table.get_add_actions(flatten=True))  # file statistics, no data read
    return int(pc.sum(actions.column("num_records")).as_py() or 0)


def wait_rows(settings: Settings, variant: Variant, expected: int, alive: Any) -> float:
    return watch_rows(settings, variant, expected, alive)[1]


def watch_rows(
    settings: Settings, variant: Variant, expected: int, alive: Any
) -> tuple[float, float]:
    """When the lake's first rows were seen, and when `expected` rows were there."""
    deadline = time.monotonic() + WAIT_S
    first: float | None = None
    while time.monotonic() < deadline:
        rows = lake_rows(settings, variant)
        if first is None and rows > 0:
            first = time.monotonic()
        if rows >= expected:
            return first or time.monotonic(), time.monotonic()
        if not alive():
            raise RuntimeError("the job stopped")
        time.sleep(0.5)
    raise RuntimeError(f"fewer than {expected} lake rows after {WAIT_S:.0f}s")


def slices(csv: Path, sizes: list[int], work: Path) -> list[tuple[Path, set[str]]]:
    """Consecutive slices of the generated data in time order (as replay sends them), one CSV
    each, with the conversation ids replay keys their tweets by."""
    frame = order_by_created_at(load_tweets(csv))
    parts, start = [], 0
    for i, size in enumerate(sizes):
        path = work / f"slice-{i}.csv"
        rows = frame.iloc[start : start + size]
        path.parent.mkdir(parents=True, exist_ok=True)
        rows[list(TWCS_COLUMNS)].to_csv(path, index=False)
        # as replay derives them from this slice alone (a reply's parent may be in another)
        keys = conversation_ids(rows["tweet_id"], rows["in_response_to_tweet_id"])
        parts.append((path, set(keys.dropna().astype(str))))
        start += size
    return parts


def topic_times(settings: Settings, topic: str) -> list[tuple[dict[str, Any], float]]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=15_000,  # a cluster consumer may take seconds to join and fetch
    )
    found = [(json.loads(r.value), r.timestamp / 1000.0) for r in consumer if r.value]
    consumer.close()
    return found


def latencies(settings: Settings, conversations: set[str]) -> list[float]:
    """Seconds from a conversation's first tweet on `tweets` to its ticket's first message."""
    first_tweet: dict[str, float] = {}
    for value, ts in topic_times(settings, settings.topic_tweets):
        conv = str(value.get("conversation_id"))
        if conv in conversations:
            first_tweet[conv] = min(first_tweet.get(conv, ts), ts)
    first_ticket: dict[str, float] = {}
    for value, ts in topic_times(settings, settings.topic_tickets):
        conv = str(value.get("conversation_id"))
        if conv in first_tweet:
            first_ticket[conv] = min(first_ticket.get(conv, ts), ts)
    return [first_ticket[c] - first_tweet[c] for c in first_ticket]


def percentiles(values: list[float]) -> tuple[float, float, float]:
    if not values:
        return (float("nan"),) * 3
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return float(p50), float(p95), float(p99)


@contextlib.contextmanager
def running_job(settings: Settings, variant: Variant, work: Path) -> Iterator[Service]:
    commit = variant.commit or OLD_JOBS.get(variant.job)
    if commit is None:  # the current job, under its own settings
        start_stream(settings)
        try:
            yield Service("stream", settings.state_dir)
        finally:
            stop_stream(settings)
        return
    old = package_at(commit, "streaming", work / f"{variant.job}-code")
    command = spark_submit_command(settings)
    # an old job runs from its own folder (local mode: the workers inherit PYTHONPATH); the new
    # code's zip would shadow its modules
    at = command.index("--py-files")
    del command[at : at + 2]
    job = command.index(next(a for a in command if a.endswith("streaming/job.py")))
    command[job] = str(old / "streaming" / "job.py")
    ready = settings.state_dir / f"{variant.job}.ready"
    command[command.index("--ready-file") + 1] = str(ready)
    service = Service(f"stream-{variant.job}", settings.state_dir)
    env = {
        **settings.to_env(),
        "PYTHONPATH": f"{old}{os.pathsep}{ROOT}",
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    }
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    TicketStore(settings.tickets_db_url).create_schema()
    service.start(command, env=env, cwd=ROOT)
    try:
        service.wait_until(ready.exists, 600.0, "started its query")
        yield service
    finally:
        service.stop()


def measure(
    base: Settings,
    work: Path,
    variant: Variant,
    layout: Layout | None,
    args: argparse.Namespace,
) -> Figures:
    figures = Figures(variant.name)
    settings = variant_settings(base, work, variant, layout)
    loads = [int(x) for x in args.loads.split(",") if x]
    sizes = [args.tweets, *(load * args.seconds for load in loads)]
    csv, _ = write_dataset(
        work / f"{variant.name}-data", rows=int(sum(sizes) * 1.3), seed=DATA_SEED
    )
    parts = slices(csv, sizes, work / variant.name)
    try:
        if layout is not None:
            postgres.create_database(layout, database_name(variant))
            if variant.workers is not None:
                use_workers(layout, variant.workers)
        ensure_topics(settings)
        launched = time.monotonic()
        with running_job(settings, variant, work) as service:
            figures.startup_s = time.monotonic() - launched
            server_service = server(base)
            workers = (
                None
                if layout is None
                else {
                    f"executors {w}": spark.worker_service(layout, w).pid for w in spark.workers()
                }
            )
            memory = ProcessSampler(service.pid, server_service.pid, workers)
            try:
                start = time.monotonic()
                (first, convs), *paced = parts
                print(f"  {variant.name}: {args.tweets} tweets flat out", flush=True)
                sent = replay(first, settings, progress=False).sent
                seen, done = watch_rows(settings, variant, sent, service.is_running)
                figures.sustained_rate = sent / (done - start)
                figures.with_startup_rate = sent / (done - start + figures.startup_s)
                figures.first_rows_s = seen - start
                figures.cpu_per_1000 = {k: v * 1000 / sent for k, v in memory.cpu_seconds().items()}
                figures.latency["max"] = percentiles(latencies(settings, convs))
                total = sent
                for load, (part, convs) in zip(loads, paced, strict=True):
                    print(f"  {variant.name}: {load} tweets/s for {args.seconds} s", flush=True)
                    total += replay(part, settings, rate=load, progress=False).sent
                    wait_rows(settings, variant, total, service.is_running)
                    figures.latency[str(load)] = percentiles(latencies(settings, convs))
            finally:
                memory.stop()
                figures.jvm_mb, figures.python_mb = memory.jvm / 2**20, memory.python / 2**20
                figures.peaks_mb = memory.peaks_mb()
    except Exception as err:  # noqa: BLE001 - report the variant as failed, go on with the next
        figures.error = f"{type(err).__name__}: {err}"
    return figures


def server_rate(settings: Settings, work: Path, texts: int = 4096) -> float:
    """The model server's own /analyze throughput (tweets/s), called as the stream calls it, on
    tweets generated as the replayed ones are (customer tweets and brand replies)."""
    csv, _ = write_dataset(work / "server-rate-data", rows=texts, seed=DATA_SEED)
    sample = order_by_created_at(load_tweets(csv))["text"].astype(str).tolist()[:texts]
    chunk = settings.classify_max_texts
    pieces = [sample[i : i + chunk] for i in range(0, len(sample), chunk)]
    with httpx.Client(timeout=300.0) as http:
        http.post(f"{settings.bento_url}/analyze", json={"texts": pieces[0]})  # warm-up
        start = time.monotonic()
        for piece in pieces:
            http.post(f"{settings.bento_url}/analyze", json={"texts": piece}).raise_for_status()
    return len(sample) / (time.monotonic() - start)


def report(rows: list[Figures], loads: list[str], server: float) -> None:
    head = f"{'job':<14} {'rows/s':>8} " + " ".join(f"{'p50/p95/p99 @' + x:>22}" for x in loads)
    print(head + f" {'JVM MB':>8} {'Python MB':>10}")
    for f in rows:
        if f.error:
            print(f"{f.variant:<14} failed: {f.error}")
            continue
        cells = " ".join(
            "{:>22}".format("/".join(f"{v:.1f}" for v in f.latency.get(x, (float("nan"),) * 3)))
            for x in loads
        )
        print(
            f"{f.variant:<14} {f.sustained_rate:>8.0f} {cells} {f.jvm_mb:>8.0f} {f.python_mb:>10.0f}"
        )
    print("\nlatency in seconds from the tweet's Kafka timestamp to its ticket on `tickets`")
    print(f"model server alone, on a quiet machine: {server:.0f} tweets/s on /analyze (same mix)")
    print("\nend to end, flat out: rows/s from the first publish to the last lake row, against")
    print("the server; with the job's start-up in front; and when the lake's first rows came")
    for f in rows:
        if f.error:
            continue
        print(
            f"{f.variant}: {f.sustained_rate:.0f} rows/s = {f.sustained_rate / server:.2f} x the "
            f"server's /analyze rate; with the job's {f.startup_s:.0f} s start-up "
            f"{f.with_startup_rate:.0f} rows/s; the first lake rows {f.first_rows_s:.0f} s after "
            "the first publish"
        )
    cores = psutil.cpu_count() or 1
    print(f"\nCPU seconds per 1,000 tweets of the flat-out replay ({cores} cores)")
    for f in rows:
        if f.error or not f.cpu_per_1000:
            continue
        total = sum(f.cpu_per_1000.values())
        parts = ", ".join(f"{k} {v:.1f}" for k, v in sorted(f.cpu_per_1000.items()))
        top = max(f.cpu_per_1000, key=lambda k: f.cpu_per_1000[k])
        own = total - f.cpu_per_1000.get("server", 0.0)
        ratio = own / f.cpu_per_1000["server"] if f.cpu_per_1000.get("server") else float("nan")
        print(
            f"{f.variant}: {parts}; total {total:.1f} -> CPU-bound at about "
            f"{cores * 1000 / total:.0f} tweets/s; the largest share is {top}; the job's own "
            f"{own:.1f} = {ratio:.2f} x the server's"
        )


def report_memory(rows: list[Figures]) -> None:
    """Each group's peak RSS over the whole run (flat out and paced), against the limit."""
    print(f"\npeak RSS in MB, each group's (its largest process's); limit {MEMORY_LIMIT_MB} each")
    for f in rows:
        if f.error or not f.peaks_mb:
            continue
        over = [g for g, (total, _) in f.peaks_mb.items() if total > MEMORY_LIMIT_MB]
        parts = ", ".join(f"{g} {total:.0f} ({one:.0f})" for g, (total, one) in f.peaks_mb.items())
        print(f"{f.variant}: {parts}; " + (f"over: {', '.join(over)}" if over else "all under"))


def variants(args: argparse.Namespace) -> list[Variant]:
    if args.topology == "local":
        jobs = [job for job in OLD_JOBS if getattr(args, job)] + ["after"]
        extra = [
            Variant(name, tuple(json.loads(conf).items()))
            for name, _, conf in (v.partition("=") for v in args.variant)
        ]
        tuned = [
            Variant(name, settings=tuple(json.loads(fields).items()))
            for name, _, fields in (v.partition("=") for v in args.setting)
        ]
        at = [
            Variant(
                f"at-{commit}", settings=tuple(json.loads(fields or "{}").items()), commit=commit
            )
            for commit, _, fields in (v.partition("=") for v in args.at)
        ]
        return at + [Variant(job) for job in jobs] + extra + tuned
    workers = [int(x) for x in args.workers.split(",") if x]
    partitions = [int(x) for x in args.partitions.split(",") if x]
    shapes = [Variant("after", workers=w, partitions=p) for w in workers for p in partitions]
    # extra Spark conf on the cluster: measured on the first shape
    extra = [
        Variant(name, tuple(json.loads(conf).items()), workers=workers[0], partitions=partitions[0])
        for name, _, conf in (v.partition("=") for v in args.variant)
    ]
    return shapes + extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tweets", type=int, default=20_000)
    parser.add_argument("--loads", default="100,200,500,1000", help="offered loads, tweets/s")
    parser.add_argument("--seconds", type=int, default=20, help="length of each paced replay")
    for job, commit in OLD_JOBS.items():
        parser.add_argument(f"--{job}", action="store_true", help=f"also the job of {commit}")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="also the current job under extra Spark conf, NAME='{JSON}'; repeatable",
    )
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        help="also the current job under other settings, NAME='{JSON of fields}'; repeatable",
    )
    parser.add_argument(
        "--at",
        action="append",
        default=[],
        help="also the job (streaming/) of this commit, e.g. the one before a change, optionally "
        "under the settings of its day: COMMIT='{JSON of fields}'; repeatable",
    )
    parser.add_argument("--topology", choices=["local", "cluster"], default="local")
    parser.add_argument("--workers", default="1,2", help="cluster: Spark workers to measure with")
    parser.add_argument("--partitions", default="2", help="cluster: partitions of the topics")
    parser.add_argument("--registry", help="MLflow tracking URI with the champions")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (its logs)")
    args = parser.parse_args()
    if (args.before or args.previous or args.at or args.setting) and args.topology == "cluster":
        parser.error("--before, --previous, --at and --setting measure on local[2] only")
    env = get_settings()
    work = Path(tempfile.mkdtemp(prefix="bench-stream-"))
    kafka_port, controller, bento = free_port(), free_port(), free_port()
    registry = args.registry or env.mlflow_tracking_uri
    base = env.model_copy(
        update={
            "state_dir": work / "stack",
            "kafka_host": "127.0.0.1",
            "kafka_port": kafka_port,
            "kafka_controller_port": controller,
            "kafka_bootstrap_servers": "",
            "bento_port": bento,
            "mlflow_tracking_uri": registry,
        }
    )
    rows: list[Figures] = []
    server = 0.0
    with contextlib.ExitStack() as stack:
        layout: Layout | None = None
        if args.topology == "cluster":
            layout, on_cluster, _env = stack.enter_context(running_cluster(work / "cluster", base))
            # the champions stay in `registry`: the cluster's own MLflow server holds none
            base = on_cluster.model_copy(
                update={"state_dir": work / "stack", "mlflow_tracking_uri": registry}
            )
        else:
            start_broker(base)
            stack.callback(stop_broker, base)
        start_server(base)
        stack.callback(stop_server, base)
        for variant in variants(args):
            print(f"measuring {variant.name} ...", flush=True)
            rows.append(measure(base, work, variant, layout, args))
            done = rows[-1]
            print(
                f"  {variant.name}: "
                + (
                    done.error
                    or f"{done.sustained_rate:.0f} rows/s flat out, p50/p95/p99 s {done.latency}"
                ),
                flush=True,
            )
        # last, with the jobs stopped and the server warm: the model server's own ceiling
        server = server_rate(base, work)
    report(rows, ["max", *args.loads.split(",")], server)
    report_memory(rows)
    if args.keep:
        print(f"work folder, with each job's and the server's logs: {work}")
    else:
        if args.topology == "cluster":  # as root its database's files live outside `work`
            delete(work / "cluster", log=lambda _line: None)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
