"""Hostile records mixed into a normal replay on the real stack (Kafka, `bentoml serve`,
spark-submit): the stream stays up, every hostile record is dead-lettered with its reason and
its raw bytes masked, and every normal tweet is archived exactly once.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from kafka import KafkaProducer

from tests.integration.test_streaming import (  # noqa: F401 - fixtures
    analysed_stream,
    wait_for_messages,
)
from tweetcare.cli.stream import start_stream
from tweetcare.core.settings import Settings
from tweetcare.core.storage import DEAD_LETTERS_TABLE, TWEETS_TABLE, read_table
from tweetcare.data.generator import write_dataset
from tweetcare.kafka.replay import load_tweets, order_by_created_at, replay
from tweetcare.process import Service

pytestmark = pytest.mark.integration

NORMAL = 120


def tweet(**fields: object) -> bytes:
    base = {
        "tweet_id": "h1",
        "author_id": "115712",
        "inbound": True,
        "created_at": "Tue Oct 31 22:10:47 +0000 2017",
        "text": "@AppleSupport help",
        "conversation_id": "h1",
    }
    return json.dumps({**base, **fields}).encode()


# each hostile value, and a word its dead letter's reason must contain
HOSTILE: list[tuple[bytes | None, str]] = [
    (b"[" * 5_000 + b"]" * 5_000, "nested too deeply"),  # 10 KB of nested JSON
    (b'{"text": "' + b"a" * 1_000_000 + b'"}', "too large"),  # 1 MB value
    (b"\xff\xfe\x00 call 020 7946 0958", "not UTF-8"),
    (None, "null"),
    (b"", "not JSON"),
    (b"1" * 5_000, "not JSON"),  # an integer beyond Python's digit limit
    (b'{"tweet_id": NaN}', "missing fields"),
    (tweet(tweet_id="h2", text=["a", "list"]), "bad text"),
    (tweet(tweet_id={"an": "object"}), "bad tweet_id"),
    (tweet(tweet_id="h3", inbound="perhaps"), "bad inbound"),
    (tweet(tweet_id="h4", created_at="Tue Oct 31 22:10:47 +0000 99999"), "created_at"),
    (tweet(tweet_id="h5", created_at="Mon Jan 01 00:30:00 +0100 0001"), "created_at"),
    (tweet(tweet_id="h6", text="   "), "empty text"),
    (tweet(tweet_id="h7", text=7, author_id="me@example.com"), "bad text"),
]


def test_hostile_records_are_dead_lettered_and_the_stream_goes_on(
    analysed_stream: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    settings = analysed_stream
    csv, _ = write_dataset(tmp_path / "data", rows=400, seed=5)
    start_stream(settings)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, max_request_size=2**21)
    half = [value for value, _ in HOSTILE[: len(HOSTILE) // 2]]
    # a key on each: Kafka takes a null value (a tombstone) only with a key
    for value in half:  # hostile records first, so normal tweets come after them
        producer.send(settings.topic_tweets, key=b"hostile", value=value)
    producer.flush()
    sent = replay(csv, settings, limit=NORMAL, progress=False).sent
    for value, _ in HOSTILE[len(HOSTILE) // 2 :]:
        producer.send(settings.topic_tweets, key=b"hostile", value=value)
    producer.flush()
    producer.close()

    counts = wait_for_messages(settings, sent + len(HOSTILE))
    assert Service("stream", settings.state_dir).is_running()
    assert counts["messages"] == sent + len(HOSTILE)

    tweets = read_table(settings, TWEETS_TABLE)
    assert tweets is not None
    ids = tweets.column("tweet_id").to_pylist()
    # the tweets replay sent: the first NORMAL in time order (created_at is a date, not a string)
    expected = set(order_by_created_at(load_tweets(csv)).tweet_id.astype(str).head(NORMAL))
    assert len(ids) == len(set(ids)) == NORMAL and set(ids) == expected

    letters = read_table(settings, DEAD_LETTERS_TABLE)
    assert letters is not None
    reasons = letters.column("reason").to_pylist()
    assert len(reasons) == len(HOSTILE)
    for _, word in HOSTILE:
        assert any(word.lower() in r.lower() for r in reasons), (word, reasons)
    rows = [r for r in letters.to_pylist() if r["raw"]]
    raws = [
        base64.b64decode(r["raw"]).decode("utf-8", "replace")
        if r["raw_encoding"] == "base64"
        else r["raw"]
        for r in rows
    ]
    assert not any("7946 0958" in r or "me@example.com" in r for r in raws)  # masked
    assert any("<email>" in r for r in raws) and any("<phone>" in r for r in raws)
