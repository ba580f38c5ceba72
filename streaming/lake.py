"""The rows of the Delta lake: tweets with their analysis, and dead letters, both by date.

Pure row builders (no Spark): the executors build rows here, `streaming/lake_tables.py` merges them.
The layout and every column are documented in `streaming/LAKE.md`; `TWEET_SCHEMA` below is the
schema itself.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from streaming.parse import DeadLetter
from streaming.records import KafkaRecord
from tweetcare.core.pii import mask_pii
from tweetcare.core.schemas import (
    HANDLE_MAX_CHARS,
    Analysis,
    ShadowScore,
    TweetMessage,
    parse_twcs_time,
)

PARTITION_COLUMN = "date"
BRAND_COLUMN = "brand"
# by date alone: with brand too, 20,000 tweets filled 901 partitions, each micro-batch wrote a
# file into ~80 of them, and every MERGE read all those small files (benchmarks/stream.py)
TWEET_PARTITIONS = [PARTITION_COLUMN]
DEAD_LETTER_PARTITIONS = [PARTITION_COLUMN]
# the brand of a tweet no brand handle can be found for
UNKNOWN_BRAND = "unknown"
# what a brand partition value may be: a Twitter handle (never a path)
_SAFE_BRAND = re.compile(rf"^\w{{1,{HANDLE_MAX_CHARS}}}$")
_HANDLE = re.compile(r"@(\w+)")

ENTITY_TYPE = pa.struct(
    [("start", pa.int32()), ("end", pa.int32()), ("label", pa.string()), ("text", pa.string())]
)

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
        ("sentiment", pa.string()),
        ("sentiment_score", pa.float64()),
        ("category", pa.string()),
        ("category_confidence", pa.float64()),
        ("entities", pa.list_(ENTITY_TYPE)),
        ("language", pa.string()),
        ("flags", pa.list_(pa.string())),
        ("needs_ticket", pa.bool_()),
        ("ticket_id", pa.string()),
        ("text", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")),
        (PARTITION_COLUMN, pa.string()),
        (BRAND_COLUMN, pa.string()),
        ("kafka_partition", pa.int32()),
        ("kafka_offset", pa.int64()),
        ("batch_id", pa.int64()),
        ("stream_id", pa.string()),
        ("model_name", pa.string()),
        ("model_version", pa.string()),
        ("models", pa.map_(pa.string(), pa.string())),
        ("data_version", pa.string()),
        ("processed_at", pa.timestamp("us", tz="UTC")),
        # the challenger's inbound answer when the server scored it in shadow (else null)
        ("shadow_model_version", pa.string()),
        ("shadow_inbound", pa.bool_()),
        ("shadow_inbound_probability", pa.float64()),
        # the text was longer than the models read (`classify_max_chars`): `text` is its start,
        # ending in TRUNCATION_MARK (added last: older tables get it as a new column)
        ("text_truncated", pa.bool_()),
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


def brand_partition(tweet: TweetMessage) -> str:
    """The brand a tweet belongs to: its author if a brand wrote it, else the brand it names."""
    if not tweet.inbound and _SAFE_BRAND.match(tweet.author_id):
        return tweet.author_id
    for match in _HANDLE.finditer(tweet.text):
        handle = match.group(1)
        # a longer @word than any handle is none (as for the tickets' brand)
        if not handle.isdigit() and len(handle) <= HANDLE_MAX_CHARS:
            return handle
    return UNKNOWN_BRAND


@dataclass(frozen=True)
class Lineage:
    """What scored a batch: the served models and the data version they were trained on."""

    model_name: str | None = None
    model_version: str | None = None
    data_version: str | None = None


def lineage_of(info: dict[str, Any]) -> Lineage:
    """Lineage from /model_info: the inbound model's name and version (top level), and the data
    version the served models were trained on, from the top level or from each entry under
    `models` (distinct versions joined by commas; None when the server reports none)."""
    entries = [info, *(v for v in (info.get("models") or {}).values() if isinstance(v, dict))]
    versions = sorted({str(e["data_version"]) for e in entries if e.get("data_version")})
    return Lineage(
        model_name=str_or_none(info.get("name")),
        model_version=str_or_none(info.get("version")),
        data_version=",".join(versions) or None,
    )


def tweet_row(
    tweet: TweetMessage,
    record: KafkaRecord,
    analysis: Analysis,
    ticket_id: str | None,
    batch_id: int,
    stream_id: str,
    processed_at: datetime,
    lineage: Lineage,
    text_truncated: bool = False,
) -> dict[str, Any]:
    """One row of the `tweets` table: the message (masked), where it came from, its analysis."""
    created = parse_twcs_time(tweet.created_at)
    p_inbound = analysis.inbound_probability
    return {
        "tweet_id": tweet.tweet_id,
        "conversation_id": tweet.conversation_id,
        "author_id": tweet.author_id,
        "inbound": tweet.inbound,
        "predicted_label": "inbound" if analysis.inbound else "outbound",
        "predicted_inbound": analysis.inbound,
        "probability": p_inbound if analysis.inbound else 1.0 - p_inbound,
        "inbound_probability": p_inbound,
        "sentiment": analysis.sentiment,
        "sentiment_score": analysis.sentiment_score,
        "category": analysis.category,
        "category_confidence": analysis.category_confidence,
        "entities": [e.model_dump() for e in analysis.entities],
        "language": analysis.language,
        "flags": list(analysis.flags),
        "needs_ticket": analysis.needs_ticket,
        "ticket_id": ticket_id,
        # phone numbers and emails never reach the lake
        "text": analysis.masked_text,
        "created_at": created,
        PARTITION_COLUMN: (created or processed_at).strftime("%Y-%m-%d"),
        BRAND_COLUMN: brand_partition(tweet),
        "kafka_partition": record.partition,
        "kafka_offset": record.offset,
        "batch_id": batch_id,
        "stream_id": stream_id,
        "model_name": lineage.model_name,
        "model_version": lineage.model_version,
        "models": sorted(analysis.models.items()),
        "data_version": lineage.data_version,
        "processed_at": processed_at,
        **shadow_columns(analysis.shadow),
        "text_truncated": text_truncated,
    }


def shadow_columns(shadow: ShadowScore | None) -> dict[str, Any]:
    """The challenger's answer as lake columns (nulls when the server ran no challenger)."""
    return {
        "shadow_model_version": shadow.model_version if shadow else None,
        "shadow_inbound": shadow.inbound if shadow else None,
        "shadow_inbound_probability": shadow.inbound_probability if shadow else None,
    }


DEAD_LETTER_KEY = ["topic", "partition", "offset"]


def dead_letter_row(
    letter: DeadLetter, record: KafkaRecord, batch_id: int, stream_id: str
) -> dict[str, Any]:
    """One row of the `dead_letters` table: the value with phone numbers and emails masked, as
    text, or as base64 of the masked bytes when it is not UTF-8."""
    raw, encoding = masked_raw(record.value)
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


def masked_raw(value: bytes | None) -> tuple[str | None, str]:
    """The raw value with PII masked; bytes that are not UTF-8 survive the masking unchanged
    (surrogate escapes) and come back as base64."""
    if value is None:
        return None, "null"
    try:
        return mask_pii(value.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        text = mask_pii(value.decode("utf-8", errors="surrogateescape"))
        masked = text.encode("utf-8", errors="surrogateescape")
        return base64.b64encode(masked).decode("ascii"), "base64"


# what the executors hand back to Spark: a lake row, a dead letter, or a message for a topic.
# A lake row's (and a partition's statistics') `out_key` is its partition's batch key: they all
# travel to the lake query on one partition of the lake rows topic, in order, the statistics last
KIND_TWEET = "tweet"
KIND_DEAD = "dead"
KIND_MESSAGE = "message"
KIND_STATS = "stats"
MESSAGE_FIELDS = [("out_topic", pa.string()), ("out_key", pa.string()), ("out_value", pa.string())]
OUTPUT_SCHEMA = pa.schema(
    [
        ("kind", pa.string()),
        *TWEET_SCHEMA,
        *(f for f in DEAD_LETTER_SCHEMA if f.name not in TWEET_SCHEMA.names),
        *MESSAGE_FIELDS,
    ]
)


def output_batch(rows: list[dict[str, Any]]) -> pa.RecordBatch:
    """Rows of any kind as one Arrow batch of OUTPUT_SCHEMA (absent columns are null)."""
    return pa.RecordBatch.from_pylist(rows, schema=OUTPUT_SCHEMA)


def valid_rows(rows: list[dict[str, Any]], schema: pa.Schema) -> list[bool]:
    """`is_valid_row` for each row: one Arrow conversion for all of them (about a third of a
    partition's Python time when done row by row), row by row only when that one fails."""
    try:
        pa.RecordBatch.from_pylist(rows, schema=schema)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return [is_valid_row(row, schema) for row in rows]
    return [True] * len(rows)


def is_valid_row(row: dict[str, Any], schema: pa.Schema) -> bool:
    """Whether Arrow takes the row as `schema` (types, ranges): checked before Spark sees it."""
    try:
        pa.RecordBatch.from_pylist([row], schema=schema)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return False
    return True


def str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
