"""The real streaming job under spark-submit against a real Kafka broker.

Only malformed messages are sent, so the job never needs the model server: this checks the
Kafka source, dead-lettering to the DLQ topic and the lake, batch statistics, a clean stop and a
restart that resumes from the checkpoint. The lead's end-to-end test adds the real BentoML server.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from kafka import KafkaConsumer, KafkaProducer

from tests.fixtures.kafka import free_ports
from tweetcare.cli.stream import start_stream, stop_stream
from tweetcare.core.settings import Settings
from tweetcare.kafka.topics import ensure_topics
from tweetcare.process import Service
from tweetcare.tickets import TicketStore

pytestmark = pytest.mark.integration

# generous: Spark starts slowly on a shared two-core machine
PROCESSING_TIMEOUT_S = 240.0


@pytest.fixture
def stream_settings(kafka_broker: Settings, tmp_path: Path) -> Iterator[Settings]:
    """The shared broker, with this test's own topics, state, lake and ticket database."""
    (model_port,) = free_ports(1)  # nothing listens: a model call would fail the batch
    settings = Settings(
        **{
            **kafka_broker.model_dump(),
            "state_dir": tmp_path / "state",
            "lake_dir": tmp_path / "lake",
            "tickets_db_url": f"sqlite:///{tmp_path / 'tickets.db'}",
            # this test's own topics: other tests share the broker and its default topics
            "topic_tweets": f"{tmp_path.name}-tweets",
            "topic_tickets": f"{tmp_path.name}-tickets",
            "topic_dlq": f"{tmp_path.name}-dlq",
            "topic_replies": f"{tmp_path.name}-replies",
            "bento_port": model_port,
            "trigger_seconds": 1.0,
        }
    )
    ensure_topics(settings)
    yield settings
    stop_stream(settings)


def send(settings: Settings, values: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    for value in values:
        producer.send(settings.topic_tweets, value=value)
    producer.flush()
    producer.close()


def wait_for_messages(settings: Settings, expected: int) -> dict[str, int]:
    """Poll the batch statistics until `expected` messages are counted (fails on timeout)."""
    store = TicketStore(settings.tickets_db_url)
    service = Service("stream", settings.state_dir)
    deadline = time.monotonic() + PROCESSING_TIMEOUT_S
    counts = store.counts()
    while counts["messages"] < expected and time.monotonic() < deadline:
        assert service.is_running(), service.log_tail()
        time.sleep(1.0)
        counts = store.counts()
    store.close()
    return counts


def dlq_reasons(settings: Settings, expected: int) -> list[str]:
    consumer = KafkaConsumer(
        settings.topic_dlq,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=10_000,
    )
    reasons = []
    for record in consumer:
        reasons.append(json.loads(record.value)["reason"])
        if len(reasons) >= expected:
            break
    consumer.close()
    return sorted(reasons)


def test_the_job_dead_letters_and_resumes_from_its_checkpoint(stream_settings: Settings) -> None:
    settings = stream_settings
    send(settings, [b"{broken", b"[1]", json.dumps({"tweet_id": "1"}).encode()])
    start_stream(settings)
    start_stream(settings)  # idempotent: still one job
    counts = wait_for_messages(settings, 3)
    assert (counts["messages"], counts["dead_lettered"], counts["valid"]) == (3, 3, 0)
    assert dlq_reasons(settings, 3) == [
        "missing fields: author_id, created_at, text, conversation_id",
        "not JSON: Expecting property name enclosed in double quotes at line 1 column 2",
        "not a JSON object: got an array",
    ]
    assert stop_stream(settings) is True
    service = Service("stream", settings.state_dir)
    assert not service.is_running()
    assert "stream stopped" in service.log_tail(200)  # left through the stop file, not killed

    send(settings, [b"\xff", b"null"])
    start_stream(settings)
    counts = wait_for_messages(settings, 5)
    assert counts["messages"] == 5  # resumed after the first three instead of re-reading them
    letters = ds.dataset(settings.lake_dir / "dead_letters", partitioning="hive").to_table()
    assert sorted(letters.column("raw").to_pylist()) == sorted(
        ["{broken", "[1]", '{"tweet_id": "1"}', "/w==", "null"]
    )
    assert stop_stream(settings) is True


def test_a_model_server_that_is_down_stops_the_job_and_loses_nothing(
    stream_settings: Settings,
) -> None:
    settings = stream_settings
    valid = {
        "tweet_id": "10",
        "author_id": "115712",
        "inbound": True,
        "created_at": "Tue Oct 31 22:10:47 +0000 2017",
        "text": "@AppleSupport my phone died",
        "conversation_id": "10",
    }
    send(settings, [json.dumps(valid).encode()])
    start_stream(settings)
    service = Service("stream", settings.state_dir)
    deadline = time.monotonic() + PROCESSING_TIMEOUT_S
    while service.is_running() and time.monotonic() < deadline:
        time.sleep(1.0)
    assert not service.is_running()
    assert "the query failed" in service.log_tail(400)
    counts = TicketStore(settings.tickets_db_url).counts()
    assert counts["messages"] == 0  # no batch recorded, so a restart replays the tweet
    assert not (settings.lake_dir / "dead_letters").exists()
