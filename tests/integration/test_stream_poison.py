"""The model server failing on the real stream (Kafka, spark-submit, the supervisor), with a
stand-in model server on a loopback port: a text that makes it answer HTTP 500 is dead-lettered
after the retry cap while the stream goes on, and an outage longer than the client's wait is
survived (the job fails, is restarted and replays its batch) with no tweet lost or doubled."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer

from tests.integration.test_streaming import own_settings
from tests.unit.test_streaming_model_client import StandIn
from tweetcare.cli.stream import start_stream, stop_stream, stream_health
from tweetcare.core.settings import Settings
from tweetcare.core.storage import DEAD_LETTERS_TABLE, TWEETS_TABLE, read_table
from tweetcare.data.generator import write_dataset
from tweetcare.kafka.replay import replay
from tweetcare.kafka.topics import ensure_topics
from tweetcare.process import Service

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

POISON = "POISON"
TRIES = 2
# the client's whole wait for a server that is down, and an outage well beyond it
CLIENT_WAIT_S = 4.0
OUTAGE_S = 25.0
# Spark shares two cores with everything else: generous
CATCH_UP_TIMEOUT_S = 900.0


@pytest.fixture
def model_server() -> Iterator[StandIn]:
    server = StandIn()
    server.script.fail_containing = POISON
    yield server
    server.stop()


@pytest.fixture
def stream(kafka_broker: Settings, model_server: StandIn, tmp_path: Path) -> Iterator[Settings]:
    settings = own_settings(kafka_broker, tmp_path, model_server.port).model_copy(
        update={"model_server_error_tries": TRIES, "model_server_wait_seconds": CLIENT_WAIT_S}
    )
    ensure_topics(settings)
    yield settings
    stop_stream(settings)


def archived_ids(settings: Settings) -> list[str]:
    table = read_table(settings, TWEETS_TABLE)
    return [] if table is None else table.column("tweet_id").to_pylist()


def dead_letters(settings: Settings) -> list[dict[str, object]]:
    table = read_table(settings, DEAD_LETTERS_TABLE)
    return [] if table is None else table.to_pylist()


def wait_for(condition: Callable[[], bool], what: str, settings: Settings) -> None:
    deadline = time.monotonic() + CATCH_UP_TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, f"{what}: {Service('stream', settings.state_dir)}"
        time.sleep(2.0)


def poison_tweet() -> bytes:
    return json.dumps(
        {
            "tweet_id": "poison-1",
            "author_id": "115712",
            "inbound": True,
            "created_at": "Tue Oct 31 22:10:47 +0000 2017",
            "text": f"@AppleSupport {POISON} my screen is black, call +1 555 0100",
            "conversation_id": "poison-1",
        }
    ).encode()


def test_a_crashing_text_is_dead_lettered_and_an_outage_is_survived(
    stream: Settings, model_server: StandIn, tmp_path: Path
) -> None:
    settings = stream
    csv, _ = write_dataset(tmp_path / "data", rows=160, seed=11)
    start_stream(settings)
    first = replay(csv, settings, limit=40, progress=False).sent
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    producer.send(settings.topic_tweets, value=poison_tweet())
    producer.flush()
    producer.close()
    wait_for(lambda: len(archived_ids(settings)) >= first, "the first tweets", settings)
    wait_for(lambda: len(dead_letters(settings)) == 1, "the poison's dead letter", settings)
    (letter,) = dead_letters(settings)
    assert letter["reason"] == f"refused by the model server: HTTP {500} after {TRIES} tries"
    alone = [sent for sent in model_server.script.sent if len(sent) == 1 and POISON in sent[0]]
    assert len(alone) == TRIES  # the cap, per scoring of the batch
    assert stream_health(settings)["up"]

    # the server down for longer than the client waits: the job fails and is restarted
    port = model_server.port
    model_server.stop()
    # every tweet of the file (the first ones again: the lake keeps each once)
    total = replay(csv, settings, progress=False).sent
    time.sleep(OUTAGE_S)
    model_server.start(port)
    wait_for(lambda: len(archived_ids(settings)) >= total, "every tweet", settings)
    ids = archived_ids(settings)
    assert len(ids) == len(set(ids)) == total
    assert "poison-1" not in ids and len(dead_letters(settings)) == 1
    health = stream_health(settings)
    assert health["up"] and health["restarts"] >= 1
