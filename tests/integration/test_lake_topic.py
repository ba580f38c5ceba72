"""The lake rows' trip through Kafka (streaming/lake_topic.py), in a real local Spark session:
what the care query sends is what the lake query merges, to the microsecond."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest
from pyspark.sql import SparkSession

from streaming import lake
from streaming.job import INTERPRETED_CONF
from streaming.lake_topic import LAKE_KINDS, decode, outgoing
from tweetcare.core.settings import Settings

pytestmark = pytest.mark.integration

WHEN = datetime(2026, 11, 30, 12, 34, 56, 123456, tzinfo=UTC)


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    builder = SparkSession.builder.master("local[1]").appName("lake-topic-test")
    for key, value in {
        "spark.ui.enabled": "false",
        "spark.sql.session.timeZone": "UTC",
        **INTERPRETED_CONF,
    }.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    yield session
    session.stop()


def scored_rows() -> list[dict[str, Any]]:
    tweet = {
        "kind": lake.KIND_TWEET,
        "out_key": "a1b2c3d4-00000007-p0",
        "tweet_id": "1001",
        "conversation_id": "1001",
        "author_id": "115712",
        "inbound": True,
        "predicted_label": "inbound",
        "predicted_inbound": True,
        "probability": 0.987654321,
        "inbound_probability": 0.987654321,
        "sentiment": "negative",
        "sentiment_score": -0.5,
        "category": "delivery",
        "category_confidence": 0.75,
        "entities": [{"start": 3, "end": 13, "label": "ORDER", "text": "W276816168"}],
        "language": "pt",
        "flags": ["not_english"],
        "needs_ticket": True,
        "ticket_id": "T-9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        "text": 'meu pedido W276816168 ainda não chegou "😡" \\ \n',
        "created_at": WHEN,
        lake.PARTITION_COLUMN: "2026-11-30",
        lake.BRAND_COLUMN: "AmazonHelp",
        "kafka_partition": 2,
        "kafka_offset": 2**40,
        "batch_id": 7,
        "stream_id": "a1b2c3d4",
        "model_name": "tweet-inbound",
        "model_version": "3",
        "models": {"tweet-category": "2", "tweet-sentiment": "1"},
        "data_version": "md5:abc",
        "processed_at": WHEN,
    }
    dead = {
        "kind": lake.KIND_DEAD,
        "out_key": "a1b2c3d4-00000007-p0",
        "reason": "not JSON: Expecting value",
        "raw": "/w==" * 1000,
        "raw_encoding": "base64",
        "topic": "tweets",
        "partition": 0,
        "offset": 41,
        "kafka_timestamp": WHEN,
        lake.PARTITION_COLUMN: "2026-11-30",
        "batch_id": 7,
        "stream_id": "a1b2c3d4",
    }
    stats = {"kind": lake.KIND_STATS, "out_key": "a1b2c3d4-00000007-p0", "out_value": '{"n": 2}'}
    message = {
        "kind": lake.KIND_MESSAGE,
        "out_topic": "tickets",
        "out_key": "1001",
        "out_value": '{"message_id": "ticket:T-1:1"}',
    }
    return [tweet, dead, stats, message]


def by_kind(row: dict[str, Any]) -> str:
    return str(row["kind"])


def test_lake_rows_go_to_their_topic_and_come_back_whole(spark: SparkSession) -> None:
    settings = Settings(topic_tweets="shop-tweets")
    rows = scored_rows()
    scored = spark.createDataFrame(pa.Table.from_batches([lake.output_batch(rows)]))

    records = outgoing(scored, settings).collect()
    by_topic = {record["topic"]: record for record in records}
    assert len(records) == 4
    assert by_topic["tickets"]["key"] == "1001"
    assert by_topic["tickets"]["value"] == rows[3]["out_value"]
    sent = [r for r in records if r["topic"] == settings.lake_rows_topic]
    # one partition's lake rows share its batch key, so they stay in order on one partition
    assert [r["key"] for r in sent] == ["a1b2c3d4-00000007-p0"] * 3

    # what the lake query reads back: the same rows, all but the message, with every type
    values = spark.createDataFrame([(record["value"].encode(),) for record in sent], "value binary")
    back = decode(values).toArrow().to_pylist()
    expected = pa.Table.from_batches([lake.output_batch(rows[:3])]).to_pylist()
    assert sorted(back, key=by_kind) == sorted(expected, key=by_kind)


def test_a_value_that_is_not_a_lake_row_keeps_a_kind_the_lake_leaves_out(
    spark: SparkSession,
) -> None:
    values = spark.createDataFrame(
        [(b"not json",), (b'{"kind": "message"}',), (b"{}",)], "value binary"
    )
    kinds = [row["kind"] for row in decode(values).collect()]
    assert len(kinds) == 3  # decoded, so the lake query can count and log them
    assert not set(kinds) & set(LAKE_KINDS)
