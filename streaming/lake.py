"""The Parquet data lake: tweets with their predictions, and dead letters, by date.

File names carry the batch key, so a micro-batch that Spark replays overwrites its own files
instead of adding a second copy.
"""

from __future__ import annotations

import base64
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from streaming.parse import DeadLetter, parse_created_at
from streaming.records import KafkaRecord
from tweetcare.core.schemas import Classification, TweetMessage

PARTITION_COLUMN = "date"

TWEET_SCHEMA = pa.schema(
    [
        ("tweet_id", pa.string()),
        ("conversation_id", pa.string()),
        ("author_id", pa.string()),
        ("inbound", pa.bool_()),
        ("predicted_label", pa.string()),
        ("predicted_inbound", pa.bool_()),
        ("probability", pa.float64()),
        ("inbound_probability", pa.float64()),
        ("text", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")),
        (PARTITION_COLUMN, pa.string()),
        ("kafka_partition", pa.int32()),
        ("kafka_offset", pa.int64()),
        ("batch_id", pa.int64()),
        ("stream_id", pa.string()),
        ("model_name", pa.string()),
        ("model_version", pa.string()),
        ("processed_at", pa.timestamp("us", tz="UTC")),
    ]
)

DEAD_LETTER_SCHEMA = pa.schema(
    [
        ("reason", pa.string()),
        ("raw", pa.string()),
        ("raw_encoding", pa.string()),
        ("topic", pa.string()),
        ("partition", pa.int32()),
        ("offset", pa.int64()),
        ("kafka_timestamp", pa.timestamp("us", tz="UTC")),
        (PARTITION_COLUMN, pa.string()),
        ("batch_id", pa.int64()),
        ("stream_id", pa.string()),
    ]
)


def write_batch(rows: list[dict[str, Any]], schema: pa.Schema, root: Path, batch_key: str) -> None:
    """Write one batch's rows under `root/date=YYYY-MM-DD/batch-<key>-<i>.parquet`."""
    if not rows:
        return
    table = pa.Table.from_pylist(rows, schema=schema)
    root.mkdir(parents=True, exist_ok=True)
    pq.write_to_dataset(
        table,
        root_path=str(root),
        partition_cols=[PARTITION_COLUMN],
        basename_template=f"batch-{batch_key}-{{i}}.parquet",
        existing_data_behavior="overwrite_or_ignore",
    )


def tweet_row(
    tweet: TweetMessage,
    record: KafkaRecord,
    pred: Classification,
    batch_id: int,
    stream_id: str,
    processed_at: datetime,
    info: dict[str, Any],
) -> dict[str, Any]:
    """One row of the `tweets` table: the message, where it came from, what the model said."""
    created = parse_created_at(tweet.created_at)
    return {
        "tweet_id": tweet.tweet_id,
        "conversation_id": tweet.conversation_id,
        "author_id": tweet.author_id,
        "inbound": tweet.inbound,
        "predicted_label": pred.label,
        "predicted_inbound": pred.inbound,
        "probability": pred.probability,
        "inbound_probability": pred.inbound_probability,
        "text": tweet.text,
        "created_at": created,
        PARTITION_COLUMN: (created or processed_at).strftime("%Y-%m-%d"),
        "kafka_partition": record.partition,
        "kafka_offset": record.offset,
        "batch_id": batch_id,
        "stream_id": stream_id,
        "model_name": str_or_none(info.get("name")),
        "model_version": str_or_none(info.get("version")),
        "processed_at": processed_at,
    }


def dead_letter_row(
    letter: DeadLetter, record: KafkaRecord, batch_id: int, stream_id: str
) -> dict[str, Any]:
    """One row of the `dead_letters` table; the value as text, or base64 if it is not UTF-8."""
    raw, encoding = _readable(record.value)
    # the record's own time, so a replay on another day writes the same partition
    when = record.timestamp
    return {
        "reason": letter.reason,
        "raw": raw,
        "raw_encoding": encoding,
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "kafka_timestamp": when,
        PARTITION_COLUMN: when.strftime("%Y-%m-%d") if when else "unknown",
        "batch_id": batch_id,
        "stream_id": stream_id,
    }


def _readable(value: bytes | None) -> tuple[str | None, str]:
    if value is None:
        return None, "null"
    try:
        return value.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(value).decode("ascii"), "base64"


def str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
