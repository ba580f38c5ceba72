"""The Spark Structured Streaming job: Kafka `tweets` → model server → lake, tickets, topics.

Run it with `spark-submit` (see `tweetcare.cli.stream.spark_submit_command`): `streaming/job.py
[--ready-file F] [--stop-file F]`; settings come from the `TWEETCARE_*` environment. The driver
only plans: each micro-batch's records are parsed, scored over HTTP, turned into lake rows,
ticket upserts and output messages on the executors (`mapInArrow`), and written by Spark's own
writers (Delta MERGE for the lake, the Kafka sink for `tickets`, `replies` and the DLQ). The
checkpoint makes a restart resume where the last run stopped; a stop file (or SIGTERM) stops it
between two micro-batches.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from pyspark import StorageLevel
from pyspark.errors import StreamingQueryException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema
from pyspark.sql.streaming import StreamingQuery, StreamingQueryListener

from streaming import lake
from streaming.batch import JobContext, record_stats, score_partitions
from streaming.lake_tables import (
    DELTA_EXTENSIONS,
    DELTA_STREAM_CONF,
    compact,
    ensure_tables,
    merge_new,
)
from streaming.progress import ProgressFile, end_offsets_of
from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings, get_settings
from tweetcare.core.storage import (
    DEAD_LETTERS_TABLE,
    TWEETS_TABLE,
    hadoop_s3a_conf,
    lake_table_uri,
)
from tweetcare.tickets import TicketStore
from tweetcare.tickets.replies import load_replies
from tweetcare.tickets.routing import load_routing

STARTED_MARKER = "tweetcare stream: query started"
QUERY_NAME = "tweetcare-stream"
# how often the driver loop checks whether a stop was requested
POLL_SECONDS = 1.0
# longest wait for a running micro-batch to finish when a stop is requested
STOP_GRACE_S = 60.0
OUTPUT_SPARK_SCHEMA = from_arrow_schema(lake.OUTPUT_SCHEMA)

log = logging.getLogger("tweetcare.stream")


def build_session(settings: Settings) -> SparkSession:
    """Delta's SQL extension and catalog, S3 access from the settings; `spark_conf` wins."""
    defaults = {
        "spark.sql.shuffle.partitions": "2",
        "spark.ui.enabled": "false",
        "spark.sql.session.timeZone": "UTC",
        **DELTA_EXTENSIONS,
        **DELTA_STREAM_CONF,
        **hadoop_s3a_conf(settings),
        **settings.spark_conf,
    }
    builder = SparkSession.builder.appName(QUERY_NAME)
    for key, value in defaults.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def read_tweets(spark: SparkSession, settings: Settings) -> DataFrame:
    return (
        spark.readStream.format("kafka")
        .options(**settings.spark_kafka_options())
        .option("subscribe", settings.topic_tweets)
        .option("startingOffsets", "earliest")
        .option("maxOffsetsPerTrigger", str(settings.max_offsets_per_trigger))
        .option("failOnDataLoss", str(settings.fail_on_data_loss).lower())
        .load()
        .select(
            "key",
            "value",
            "topic",
            "partition",
            "offset",
            F.unix_micros("timestamp").alias("timestamp_us"),
        )
    )


class BatchWriter:
    """The `foreachBatch` body: plans the executors' work and Spark's writes for one batch."""

    def __init__(self, spark: SparkSession, settings: Settings, progress: ProgressFile) -> None:
        self.spark = spark
        self.settings = settings
        self.progress = progress
        self.routing = load_routing(settings.routing_config)
        self.templates = load_replies(settings.replies_config)
        self._query_id: str | None = None
        self._started = threading.Event()
        # each batch's counts, for the progress listener
        self.counts: dict[int, dict[str, int]] = {}
        # table -> the date partitions written since the last compaction
        self.written: dict[str, set[str]] = {}
        # the driver's own ticket store connection, for the batches' statistics
        self.store = TicketStore(settings.tickets_db_url)

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
        # several writers read it: score (HTTP, ticket upserts) once
        scored = scored.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            # one small job for every kind's count, date partitions and tweet id range (a few
            # rows to the driver)
            counts: dict[str, int] = {}
            dates: dict[str, list[str]] = {}
            ids: list[str] = []
            stats: list[tuple[str, str]] = []
            is_stats = F.col("kind") == lake.KIND_STATS
            summary = scored.groupBy("kind", lake.PARTITION_COLUMN).agg(
                F.count("*").alias("count"),
                F.min("tweet_id").alias("low"),
                F.max("tweet_id").alias("high"),
                # one row per partition: they ride along rather than cost a job of their own
                F.collect_list(F.when(is_stats, F.struct("out_key", "out_value"))).alias("stats"),
            )
            for row in summary.collect():
                stats += [(item["out_key"], item["out_value"]) for item in row["stats"]]
                counts[row["kind"]] = counts.get(row["kind"], 0) + row["count"]
                if row[lake.PARTITION_COLUMN] is not None:
                    dates.setdefault(row["kind"], []).append(row[lake.PARTITION_COLUMN])
                if row["kind"] == lake.KIND_TWEET:
                    ids += [row["low"], row["high"]]
            clock.lap("score")
            # the output topics before the lake: a ticket reaches its team without waiting for the
            # MERGE (about 3 s a batch); a replay re-sends both either way (stable message ids)
            if counts.get(lake.KIND_MESSAGE):
                (
                    scored.where(F.col("kind") == lake.KIND_MESSAGE)
                    .select(
                        F.col("out_topic").alias("topic"),
                        F.col("out_key").alias("key"),
                        F.col("out_value").alias("value"),
                    )
                    .write.format("kafka")
                    .options(**self.settings.spark_kafka_options())
                    .save()
                )
                clock.lap("topics")
            tweets = scored.where(F.col("kind") == lake.KIND_TWEET)
            dead = scored.where(F.col("kind") == lake.KIND_DEAD)
            if counts.get(lake.KIND_TWEET):
                merge_new(
                    self.spark,
                    lake_table_uri(self.settings, TWEETS_TABLE),
                    tweets.select(*lake.TWEET_SCHEMA.names),
                    ["tweet_id"],
                    dates[lake.KIND_TWEET],
                    (min(ids), max(ids)),
                )
                clock.lap("lake")
            if counts.get(lake.KIND_DEAD):
                merge_new(
                    self.spark,
                    lake_table_uri(self.settings, DEAD_LETTERS_TABLE),
                    dead.select(*lake.DEAD_LETTER_SCHEMA.names),
                    lake.DEAD_LETTER_KEY,
                    dates[lake.KIND_DEAD],
                )
                clock.lap("dead_letters")
            # last: a batch counts as consumed only once its outputs are written
            record_stats(self.store, stats)
            clock.lap("stats")
        finally:
            scored.unpersist()
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
        log.info("batch %d: %s in %s", batch_id, self.counts[batch_id], clock)

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


class ProgressListener(StreamingQueryListener):
    """Writes the progress file after each batch and when the query ends with an error."""

    def __init__(self, writer: BatchWriter) -> None:
        self.writer = writer

    def onQueryStarted(self, event: Any) -> None:
        self.writer.progress.update(query_id=str(event.id), last_error=None)

    def onQueryProgress(self, event: Any) -> None:
        progress = event.progress
        offsets: dict[str, dict[str, int]] = {}
        for source in progress.sources:
            offsets.update(end_offsets_of(source.endOffset))
        counts = self.writer.counts.pop(progress.batchId, {"rows": 0, "dead_letters": 0})
        self.writer.progress.update(
            query_id=str(progress.id),
            batch_id=progress.batchId,
            end_offsets=offsets,
            last_error=None,
            **counts,
        )

    def onQueryIdle(self, event: Any) -> None:
        pass

    def onQueryTerminated(self, event: Any) -> None:
        if event.exception:
            self.writer.progress.update(last_error=str(event.exception)[:2000])


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


def check_outputs(settings: Settings) -> None:
    """Refuse to start on bad ticket rules or an outdated ticket database, before reading Kafka."""
    load_routing(settings.routing_config)
    load_replies(settings.replies_config)
    store = TicketStore(settings.tickets_db_url)
    try:
        store.create_schema()
    finally:
        store.close()


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = get_settings()
    try:
        check_outputs(settings)
    except UserError as err:
        log.error("cannot start: %s", err)
        sys.exit(2)
    progress = ProgressFile(settings.state_dir)
    spark = build_session(settings)
    ensure_tables(spark, settings)
    writer = BatchWriter(spark, settings, progress)
    spark.streams.addListener(ProgressListener(writer))
    query = (
        read_tweets(spark, settings)
        .writeStream.queryName(QUERY_NAME)
        .foreachBatch(writer)
        .option("checkpointLocation", settings.checkpoint_location)
        .trigger(processingTime=f"{settings.trigger_seconds} seconds")
        .start()
    )
    writer.started(str(query.id))
    signals: list[int] = []

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        signals.append(signum)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    log.info("%s id=%s topic=%s", STARTED_MARKER, query.id, settings.topic_tweets)
    if args.ready_file:
        args.ready_file.touch()

    def stop_requested() -> bool:
        return bool(signals) or bool(args.stop_file and args.stop_file.exists())

    try:
        run_until_stopped(query, stop_requested, progress)
    finally:
        spark.stop()
        writer.store.close()


def run_until_stopped(
    query: StreamingQuery, stop_requested: Callable[[], bool], progress: ProgressFile
) -> None:
    """Wait for a stop request (clean stop) or the query's end (exit 1 if it failed)."""
    try:
        while query.isActive and not stop_requested():
            query.awaitTermination(POLL_SECONDS)
    except StreamingQueryException as err:
        # e.g. the model server stayed down: the failed batch replays from the checkpoint
        log.error("the query failed: %s", err)
        progress.update(last_error=str(err)[:2000])
        sys.exit(1)
    if stop_requested():
        log.info("stop requested; stopping after the running batch")
        stop_between_batches(query, STOP_GRACE_S)
    log.info("stream stopped")


if __name__ == "__main__":
    main()
