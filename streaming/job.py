"""The Spark Structured Streaming job: Kafka `tweets` → model server → tickets, topics, lake.

Run it with `spark-submit` (see `tweetcare.cli.stream.spark_submit_command`): `streaming/job.py
[--ready-file F] [--stop-file F]`; settings come from the `TWEETCARE_*` environment. Two queries:

- the care query reads `tweets`; each micro-batch's records are parsed, scored over HTTP, turned
  into ticket upserts, output messages and lake rows on the executors (`mapInArrow`), and sent by
  Spark's Kafka sink in one write: `tickets`, `replies`, the DLQ, and the lake rows topic
  (`streaming/lake_topic.py`). A tweet's ticket never waits for the lake.
- the lake query reads the lake rows topic on a longer trigger and MERGEs them into the Delta
  tables on their keys (exactly once per tweet), then records the partitions' statistics: a
  batch counts as consumed once it is in the lake.

Each query resumes from its own checkpoint; a stop file (or SIGTERM) stops the care query between
two micro-batches, lets the lake query catch up with what it sent, and stops that too.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from kafka.errors import KafkaError
from pyspark import SparkConf, SparkContext, StorageLevel
from pyspark.errors import StreamingQueryException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from streaming import lake
from streaming.batch import JobContext, record_stats, score_partitions
from streaming.kafka_source import read_topic
from streaming.lake_tables import (
    DELTA_EXTENSIONS,
    DELTA_STREAM_CONF,
    compact,
    ensure_tables,
    merge_new,
)
from streaming.lake_topic import (
    LAKE_KINDS,
    OUTPUT_SPARK_SCHEMA,
    outgoing,
    read_lake_rows,
    sink_options,
)
from streaming.progress import ProgressFile, end_offsets_of
from tweetcare.core.errors import UserError
from tweetcare.core.redact import redact, redact_conf
from tweetcare.core.settings import Settings, get_settings
from tweetcare.core.storage import (
    DEAD_LETTERS_TABLE,
    TWEETS_TABLE,
    hadoop_s3a_conf,
    lake_table_uri,
)
from tweetcare.kafka.topics import ensure_retention, ensure_topics, lake_source_topics
from tweetcare.monitoring.lake_lag import LakeLagWatch
from tweetcare.tickets import TicketStore
from tweetcare.tickets.replies import load_replies
from tweetcare.tickets.routing import load_routing

STARTED_MARKER = "tweetcare stream: query started"
QUERY_NAME = "tweetcare-stream"
LAKE_QUERY_NAME = "tweetcare-lake"
POOL_PROPERTY = "spark.scheduler.pool"
# how often the driver loop checks whether a stop was requested
POLL_SECONDS = 1.0
# longest wait for a running micro-batch to finish when a stop is requested
STOP_GRACE_S = 60.0

log = logging.getLogger("tweetcare.stream")


# Spark generates and compiles Java for each plan's expressions (whole-stage code generation,
# Janino for projections): worth it over millions of rows, not over a micro-batch of hundreds,
# where every batch's new plans cost more to compile than to run. In a JFR profile of the job
# code generation took 18% of the JVM's CPU; side by side (benchmarks/stream.py --variant), the
# JVM's CPU per 1,000 tweets is 2.0-2.3 s interpreted against 2.6-2.7 s with code generation.
# `spark_conf` can turn it back on for large batches.
INTERPRETED_CONF = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}


# The lake query caches each batch's decoded rows for one batch only (`LakeWriter`): compressing
# that cache cost CPU and saved nothing. Side by side at flat out (benchmarks/stream.py
# --variant): 495 rows/s and 1.7 JVM CPU s per 1,000 tweets uncompressed, 427 and 1.9 compressed.
# In the same run code generation, re-measured at 10,000-tweet batches, gave the interpreted
# plans' 1.7 s: no gain, so the plans stay interpreted.
CACHE_CONF = {"spark.sql.inMemoryColumnarStorage.compressed": "false"}


def build_session(settings: Settings) -> SparkSession:
    """Delta's SQL extension and catalog, S3 access from the settings and `spark_conf`, each only
    where the launch did not set it: a user's `spark-submit --conf` (or --properties-file,
    spark-defaults.conf) always wins over the job's own choices."""
    wanted = {
        "spark.sql.shuffle.partitions": "2",
        "spark.ui.enabled": "false",
        "spark.sql.session.timeZone": "UTC",
        **INTERPRETED_CONF,
        **CACHE_CONF,
        **DELTA_EXTENSIONS,
        **DELTA_STREAM_CONF,
        **hadoop_s3a_conf(settings),
        **settings.spark_conf,
    }
    builder = SparkSession.builder.appName(QUERY_NAME)
    for key, value in unset_only(wanted, launch_conf()).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    effective = {key: spark.conf.get(key, "") or "" for key in wanted}
    log.info("spark conf: %s", " ".join(f"{k}={v}" for k, v in redact_conf(effective).items()))
    return spark


def launch_conf() -> SparkConf:
    """The conf the launch gave the driver's JVM (spark-submit's --conf and --properties-file,
    spark-defaults.conf). PySpark reads it only through the JVM gateway, which spark-submit has
    already started: `_ensure_initialized` connects to it without creating a context."""
    SparkContext._ensure_initialized()
    return SparkConf()


def unset_only(wanted: dict[str, str], launched: SparkConf) -> dict[str, str]:
    """The entries of `wanted` whose keys the launch left unset."""
    return {key: value for key, value in wanted.items() if not launched.contains(key)}


def read_tweets(spark: SparkSession, settings: Settings) -> DataFrame:
    tweets = read_topic(spark, settings, settings.topic_tweets, settings.max_offsets_per_trigger)
    return tweets.select(
        "key",
        "value",
        "topic",
        "partition",
        "offset",
        F.unix_micros("timestamp").alias("timestamp_us"),
    )


def start_query(
    frame: DataFrame,
    name: str,
    body: Callable[[DataFrame, int], None],
    checkpoint: str,
    trigger_seconds: float,
) -> StreamingQuery:
    """`frame` through `body` (a `foreachBatch` function) every `trigger_seconds`, its jobs in
    the scheduler pool named after the query.

    Under Spark's FAIR scheduler (`spark_conf` {"spark.scheduler.mode": "FAIR"}) the two
    queries' pools share the executors: a care batch's tasks take the next free slot instead of
    queueing behind every task of a lake MERGE. The job keeps Spark's default FIFO, under which
    the pools change nothing: side by side, FAIR gave no better tweet-to-ticket p99 on
    `local[2]` (3.4 against 2.9 s at 100 tweets/s) nor on the local cluster (4.7 against 4.2 s
    at 20 tweets/s; benchmarks/stream.py). The stream's thread inherits the pool from the
    thread that starts it.
    """
    context = frame.sparkSession.sparkContext
    context.setLocalProperty(POOL_PROPERTY, name)
    try:
        return (
            frame.writeStream.queryName(name)
            .foreachBatch(body)
            .option("checkpointLocation", checkpoint)
            .trigger(processingTime=f"{trigger_seconds} seconds")
            .start()
        )
    finally:
        context.setLocalProperty(POOL_PROPERTY, None)  # type: ignore[arg-type]


class CareWriter:
    """The care query's `foreachBatch` body: score on the executors, then one Kafka write of the
    batch's tickets, replies, dead letters and lake rows. Tickets are upserted while scoring."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.routing = load_routing(settings.routing_config)
        self.templates = load_replies(settings.replies_config)
        self._query_id: str | None = None
        self._started = threading.Event()

    def started(self, query_id: str) -> None:
        self._query_id = query_id
        self._started.set()

    @property
    def stream_id(self) -> str:
        """Spark's query id (kept in the checkpoint): stable across restarts."""
        self._started.wait(timeout=STOP_GRACE_S)
        return (self._query_id or "stream")[:8]

    def __call__(self, frame: DataFrame, batch_id: int) -> None:
        clock = StepClock()
        context = JobContext(self.settings, self.routing, self.templates, self.stream_id)
        scored = frame.mapInArrow(score_partitions(context, batch_id), OUTPUT_SPARK_SCHEMA)
        # one job: a replay re-sends all of it (stable message ids, the lake merges on keys)
        (
            outgoing(scored, self.settings)
            .write.format("kafka")
            .options(**sink_options(self.settings))
            .save()
        )
        clock.lap("score and send")
        log.info("batch %d: %s", batch_id, clock)


class LakeWriter:
    """The lake query's `foreachBatch` body: MERGE the rows the care query sent into the Delta
    tables, then record the partitions' statistics."""

    def __init__(self, spark: SparkSession, settings: Settings) -> None:
        self.spark = spark
        self.settings = settings
        # each batch's counts, until the progress recorder takes them
        self.counts: dict[int, dict[str, int]] = {}
        # table -> the date partitions written since the last compaction
        self.written: dict[str, set[str]] = {}
        # the driver's own ticket store connection, for the batches' statistics
        self.store = TicketStore(settings.tickets_db_url)

    def __call__(self, frame: DataFrame, batch_id: int) -> None:
        clock = StepClock()
        # several writers read it: decode once
        rows = frame.persist(StorageLevel.MEMORY_AND_DISK_DESER)
        try:
            # one small job for every kind's count, date partitions and tweet id range (a few
            # rows to the driver)
            counts: dict[str, int] = {}
            dates: dict[str, list[str]] = {}
            ids: list[str] = []
            stats: list[tuple[str, str]] = []
            is_stats = F.col("kind") == lake.KIND_STATS
            summary = rows.groupBy("kind", lake.PARTITION_COLUMN).agg(
                F.count("*").alias("count"),
                F.min("tweet_id").alias("low"),
                F.max("tweet_id").alias("high"),
                # one row per partition: they ride along rather than cost a job of their own
                F.collect_list(F.when(is_stats, F.struct("out_key", "out_value"))).alias("stats"),
            )
            for row in summary.collect():
                if row["kind"] not in LAKE_KINDS:
                    log.warning(
                        "lake batch %d: left out %d values of %s that are not lake rows (kind %r)",
                        batch_id,
                        row["count"],
                        self.settings.lake_rows_topic,
                        row["kind"],
                    )
                    continue
                stats += [(item["out_key"], item["out_value"]) for item in row["stats"]]
                counts[row["kind"]] = counts.get(row["kind"], 0) + row["count"]
                if row[lake.PARTITION_COLUMN] is not None:
                    dates.setdefault(row["kind"], []).append(row[lake.PARTITION_COLUMN])
                if row["kind"] == lake.KIND_TWEET:
                    ids += [row["low"], row["high"]]
            clock.lap("read")
            if counts.get(lake.KIND_TWEET):
                merge_new(
                    self.spark,
                    lake_table_uri(self.settings, TWEETS_TABLE),
                    rows.where(F.col("kind") == lake.KIND_TWEET).select(*lake.TWEET_SCHEMA.names),
                    ["tweet_id"],
                    dates[lake.KIND_TWEET],
                    (min(ids), max(ids)),
                )
                clock.lap("lake")
            if counts.get(lake.KIND_DEAD):
                merge_new(
                    self.spark,
                    lake_table_uri(self.settings, DEAD_LETTERS_TABLE),
                    rows.where(F.col("kind") == lake.KIND_DEAD).select(
                        *lake.DEAD_LETTER_SCHEMA.names
                    ),
                    lake.DEAD_LETTER_KEY,
                    dates[lake.KIND_DEAD],
                )
                clock.lap("dead_letters")
            # last: a batch counts as consumed only once its rows are in the lake
            record_stats(self.store, stats)
            clock.lap("stats")
        finally:
            rows.unpersist()
        self.written.setdefault(TWEETS_TABLE, set()).update(dates.get(lake.KIND_TWEET, []))
        self.written.setdefault(DEAD_LETTERS_TABLE, set()).update(dates.get(lake.KIND_DEAD, []))
        every = self.settings.lake_compact_every
        if every and (batch_id + 1) % every == 0:
            self.compact()
            clock.lap("compact")
        self.counts[batch_id] = {
            "rows": counts.get(lake.KIND_TWEET, 0),
            "dead_letters": counts.get(lake.KIND_DEAD, 0),
        }
        log.info("lake batch %d: %s in %s", batch_id, self.counts[batch_id], clock)

    def take_counts(self, up_to: int) -> dict[str, int]:
        """The rows and dead letters of the batches up to `up_to` not taken yet (summed: the
        driver polls, and two short batches may end between two polls)."""
        taken = [batch for batch in self.counts if batch <= up_to]
        totals = {"rows": 0, "dead_letters": 0}
        for batch in taken:
            for name, count in self.counts.pop(batch).items():
                totals[name] += count
        return totals

    def compact(self) -> None:
        """Bin-pack what the batches since the last compaction wrote. Maintenance only: a failure
        (say, a concurrent OPTIMIZE) is logged and the dates wait for the next round."""
        for table, dates in self.written.items():
            try:
                compact(self.spark, lake_table_uri(self.settings, table), dates)
            except Exception as err:  # noqa: BLE001 - the batch's data is already written
                log.warning("compacting %s failed, retried at the next round: %s", table, err)
                continue
            dates.clear()


class StepClock:
    """Wall seconds of each step of a micro-batch, for its log line: where a slow batch went."""

    def __init__(self) -> None:
        self.last = time.monotonic()
        self.steps: dict[str, float] = {}

    def lap(self, step: str) -> None:
        now = time.monotonic()
        self.steps[step] = now - self.last
        self.last = now

    def __str__(self) -> str:
        return ", ".join(f"{step} {seconds:.2f}s" for step, seconds in self.steps.items())


class ProgressRecorder:
    """Copies each query's latest progress (the care query's offsets, the lake query's counts)
    to the progress file, polled from the driver's loop. A Python `StreamingQueryListener` did
    this before: each of its events cost a py4j round trip per field, each a failing class
    lookup through every jar (6% of the job's JVM samples in a JFR profile at flat out);
    `lastProgress` is one call returning JSON text."""

    def __init__(
        self,
        progress: ProgressFile,
        care: StreamingQuery,
        lake_query: StreamingQuery,
        lake_writer: LakeWriter,
    ) -> None:
        self.progress = progress
        self.care = care
        self.lake_query = lake_query
        self.lake_writer = lake_writer
        self._care_batch: int | None = None
        self._lake_batch: int | None = None
        progress.update(query_id=str(care.id), last_error=None)

    def poll(self) -> None:
        care = self.care.lastProgress
        if care is not None and care.batchId != self._care_batch:
            self._care_batch = care.batchId
            self.progress.update(
                query_id=str(care.id),
                batch_id=care.batchId,
                end_offsets=offsets_of(care),
                last_error=None,
            )
        lake_progress = self.lake_query.lastProgress
        if lake_progress is not None and lake_progress.batchId != self._lake_batch:
            self._lake_batch = lake_progress.batchId
            counts = self.lake_writer.take_counts(lake_progress.batchId)
            self.progress.update(
                lake_batch_id=lake_progress.batchId,
                lake_end_offsets=offsets_of(lake_progress),
                **counts,
            )


def offsets_of(progress: Any) -> dict[str, dict[str, int]]:
    """The end offsets of a progress's Kafka sources, {topic: {partition: next offset}}. Read
    from each source's JSON: PySpark's `SourceProgress.endOffset` is `str()` of a dict, which is
    not JSON."""
    offsets: dict[str, dict[str, int]] = {}
    for source in progress.sources:
        offsets.update(end_offsets_of(json.loads(source.json).get("endOffset")))
    return offsets


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ready-file", type=Path, help="touched once the query has started")
    parser.add_argument("--stop-file", type=Path, help="its appearance asks for a clean stop")
    return parser.parse_args(argv)


def stop_between_batches(query: StreamingQuery, timeout_s: float) -> None:
    """Let the running micro-batch finish (bounded), then stop, so no batch is cut in half."""
    deadline = time.monotonic() + timeout_s
    while query.isActive and query.status["isTriggerActive"] and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS / 5)
    query.stop()


def catch_up(query: StreamingQuery, timeout_s: float) -> None:
    """Wait (bounded) until the query has processed everything its source holds now: the lake
    query, after the care query stopped, so a clean stop leaves nothing unmerged."""
    done = threading.Thread(target=query.processAllAvailable, daemon=True)
    done.start()
    done.join(timeout_s)
    if done.is_alive():
        log.warning(
            "the lake query did not catch up in %.0fs; it resumes at the next start", timeout_s
        )


def check_outputs(settings: Settings) -> None:
    """Refuse to start on bad ticket rules or an outdated ticket database, before reading Kafka."""
    load_routing(settings.routing_config)
    load_replies(settings.replies_config)
    store = TicketStore(settings.tickets_db_url)
    try:
        store.create_schema()
    finally:
        store.close()


def ensure_lake_topics(settings: Settings) -> None:
    """Create the topics the lake is made from where missing (topics made before the job had a
    lake query lack the lake rows topic), and raise their retention where shorter than
    configured, so rows cannot expire before the lake has them. A broker that is down now is
    not a reason to refuse to start: the queries wait for it, and the care query's first write
    fails and restarts the job if it stays down."""
    topics = lake_source_topics(settings)
    try:
        created = ensure_topics(settings, topics)
        repaired = ensure_retention(settings, topics)
    except (UserError, KafkaError) as err:
        log.warning("could not check the topics %s: %s", ", ".join(topics), err)
        return
    for name in created:
        log.info("created the topic %s", name)
    for name, changes in repaired.items():
        log.warning("raised the retention of the topic %s to the configured %s", name, changes)


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = get_settings()
    try:
        check_outputs(settings)
    except UserError as err:
        log.error("cannot start: %s", err)
        sys.exit(2)
    ensure_lake_topics(settings)
    progress = ProgressFile(settings.state_dir)
    spark = build_session(settings)
    ensure_tables(spark, settings)
    care_writer = CareWriter(settings)
    lake_writer = LakeWriter(spark, settings)
    lake_query = start_query(
        read_lake_rows(spark, settings),
        LAKE_QUERY_NAME,
        lake_writer,
        settings.lake_checkpoint_location,
        settings.lake_trigger_seconds,
    )
    care_query = start_query(
        read_tweets(spark, settings),
        QUERY_NAME,
        care_writer,
        settings.checkpoint_location,
        settings.trigger_seconds,
    )
    care_writer.started(str(care_query.id))
    recorder = ProgressRecorder(progress, care_query, lake_query, lake_writer)
    signals: list[int] = []

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        signals.append(signum)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    log.info("%s id=%s topic=%s", STARTED_MARKER, care_query.id, settings.topic_tweets)
    if args.ready_file:
        args.ready_file.touch()

    def stop_requested() -> bool:
        return bool(signals) or bool(args.stop_file and args.stop_file.exists())

    def merged() -> dict[str, int]:
        return dict(progress.state.get("lake_end_offsets", {}).get(settings.lake_rows_topic, {}))

    watch = LakeLagWatch(settings, merged)

    def each_poll() -> None:
        recorder.poll()
        watch.check()

    try:
        run_until_stopped(spark, care_query, lake_query, stop_requested, progress, each_poll)
        recorder.poll()  # the batches that ended while stopping
    finally:
        spark.stop()
        lake_writer.store.close()


def run_until_stopped(
    spark: SparkSession,
    care: StreamingQuery,
    lake_query: StreamingQuery,
    stop_requested: Callable[[], bool],
    progress: ProgressFile,
    watch: Callable[[], object],
) -> None:
    """Wait for a stop request (clean stop) or either query's end (exit 1 if it failed), and
    `watch` (the progress file, the lake's lag) after each poll."""
    try:
        while care.isActive and lake_query.isActive and not stop_requested():
            spark.streams.awaitAnyTermination(POLL_SECONDS)
            watch()
    except StreamingQueryException as err:
        # e.g. the model server stayed down: the failed batch replays from the checkpoint
        log.error("the query failed: %s", redact(str(err)))
        progress.update(last_error=redact(str(err))[:2000])
        sys.exit(1)
    if not stop_requested():
        log.error("a query stopped on its own")
        sys.exit(1)
    log.info("stop requested; stopping after the running batch")
    stop_between_batches(care, STOP_GRACE_S)
    catch_up(lake_query, STOP_GRACE_S)
    stop_between_batches(lake_query, STOP_GRACE_S)
    log.info("stream stopped")


if __name__ == "__main__":
    main()
