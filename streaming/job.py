"""The Spark Structured Streaming job: Kafka `tweets` → model server → lake, tickets, DLQ.

Run it with `spark-submit --jars <the Kafka connector jars> streaming/job.py [--ready-file F]
[--stop-file F]`; settings come from the `TWEETCARE_*` environment. The checkpoint makes a restart
resume where the last run stopped; a stop file (or SIGTERM) stops it between two micro-batches.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from pyspark.errors import StreamingQueryException
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from streaming.batch import BatchProcessor
from streaming.records import KafkaRecord
from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings, get_settings
from tweetcare.tickets import TicketStore
from tweetcare.tickets.replies import load_replies
from tweetcare.tickets.routing import load_routing

STARTED_MARKER = "tweetcare stream: query started"
QUERY_NAME = "tweetcare-stream"
# how often the driver loop checks whether a stop was requested
POLL_SECONDS = 1.0
# longest wait for a running micro-batch to finish when a stop is requested
STOP_GRACE_S = 60.0

log = logging.getLogger("tweetcare.stream")


def build_session(settings: Settings) -> SparkSession:
    spark = (
        SparkSession.builder.appName(QUERY_NAME)
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    return spark


def read_tweets(spark: SparkSession, settings: Settings) -> DataFrame:
    return (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap)
        .option("subscribe", settings.topic_tweets)
        .option("startingOffsets", "earliest")
        .option("maxOffsetsPerTrigger", str(settings.max_offsets_per_trigger))
        .option("failOnDataLoss", "false")
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


def stream_id_of(checkpoint: Path) -> str:
    """Spark's query id, kept in the checkpoint: stable across restarts, new for a new checkpoint."""
    try:
        return str(json.loads((checkpoint / "metadata").read_text())["id"])[:8]
    except (OSError, ValueError, KeyError):
        return "stream"


def record_of(row: Row) -> KafkaRecord:
    micros = row.timestamp_us
    return KafkaRecord(
        key=bytes(row.key) if row.key is not None else None,
        value=bytes(row.value) if row.value is not None else None,
        topic=row.topic,
        partition=row.partition,
        offset=row.offset,
        timestamp=datetime.fromtimestamp(micros / 1e6, UTC) if micros is not None else None,
    )


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
    checkpoint = settings.checkpoint_dir.resolve()
    checkpoint.mkdir(parents=True, exist_ok=True)
    lake_settings = settings.model_copy(update={"lake_dir": settings.lake_dir.resolve()})
    spark = build_session(settings)
    processors: dict[str, BatchProcessor] = {}

    def process_batch(frame: DataFrame, batch_id: int) -> None:
        if "p" not in processors:  # the checkpoint's metadata exists once the query runs
            processors["p"] = BatchProcessor(lake_settings, stream_id_of(checkpoint))
        records = [record_of(row) for row in frame.collect()]
        stats = processors["p"].process(batch_id, records)
        log.info("batch %d: %s", batch_id, stats)

    query = (
        read_tweets(spark, settings)
        .writeStream.queryName(QUERY_NAME)
        .foreachBatch(process_batch)
        .option("checkpointLocation", str(checkpoint))
        .trigger(processingTime=f"{settings.trigger_seconds} seconds")
        .start()
    )
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
        run_until_stopped(query, stop_requested)
    finally:
        for processor in processors.values():
            processor.close()
        spark.stop()


def run_until_stopped(query: StreamingQuery, stop_requested: Callable[[], bool]) -> None:
    """Wait for a stop request (clean stop) or the query's end (exit 1 if it failed)."""
    try:
        while query.isActive and not stop_requested():
            query.awaitTermination(POLL_SECONDS)
    except StreamingQueryException as err:
        # e.g. the model server stayed down: the failed batch replays from the checkpoint
        log.error("the query failed: %s", err)
        sys.exit(1)
    if stop_requested():
        log.info("stop requested; stopping after the running batch")
        stop_between_batches(query, STOP_GRACE_S)
    log.info("stream stopped")


if __name__ == "__main__":
    main()
