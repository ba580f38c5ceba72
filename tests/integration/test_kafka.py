"""The broker, topics and replay producer against a real Kafka 4.1 broker (no mocks)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer
from kafka.consumer.fetcher import ConsumerRecord
from typer.testing import CliRunner

from tests.fixtures.kafka import broker_settings
from tweetcare.cli import kafka as kafka_cli
from tweetcare.core.schemas import TWCS_COLUMNS, TweetMessage
from tweetcare.core.settings import Settings
from tweetcare.kafka.admin import admin_client
from tweetcare.kafka.broker import broker_status, service, start_broker, stop_broker
from tweetcare.kafka.replay import publish_raw, replay
from tweetcare.kafka.topics import ensure_topics

pytestmark = pytest.mark.integration

# a consumer gives up after this long without a new record (a bound, not an assertion)
IDLE_MS = 15_000

TWCS_ROWS = [
    "2,AppleSupport,False,Tue Oct 31 22:11:47 +0000 2017,@115712 we can help,3,1",
    "1,115712,True,Tue Oct 31 22:10:47 +0000 2017,@AppleSupport my phone died,2,",
    "3,115712,True,Tue Oct 31 22:12:47 +0000 2017,thanks!,,2",
    "10,115800,True,Tue Oct 31 22:15:00 +0000 2017,@Delta lost my bag,,",
    "11,115801,maybe,garbage-date,,,",
]


def own_topic(settings: Settings) -> Settings:
    """The shared broker with a fresh tweets topic, so other tests' messages never mix in."""
    mine = settings.model_copy(update={"topic_tweets": f"tweets-{uuid.uuid4().hex[:8]}"})
    ensure_topics(mine)
    return mine


def consume(settings: Settings, expected: int) -> list[ConsumerRecord]:
    consumer = KafkaConsumer(
        settings.topic_tweets,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=IDLE_MS,
    )
    records: list[ConsumerRecord] = []
    try:
        for record in consumer:
            records.append(record)
            if len(records) >= expected:
                break
    finally:
        consumer.close()
    return records


def test_start_is_idempotent(kafka_broker: Settings) -> None:
    pid = service(kafka_broker).pid()
    start_broker(kafka_broker)
    status = broker_status(kafka_broker)
    assert status.running
    assert status.pid == pid
    assert status.bootstrap == kafka_broker.kafka_bootstrap


def test_project_topics_exist_with_the_configured_partitions(kafka_broker: Settings) -> None:
    assert set(kafka_broker.all_topics) <= set(broker_status(kafka_broker).topics)
    assert ensure_topics(kafka_broker) == []
    with admin_client(kafka_broker) as client:
        described = client.describe_topics(kafka_broker.all_topics)
    assert {len(topic["partitions"]) for topic in described} == {kafka_broker.topic_partitions}


def test_the_cli_says_the_broker_is_up_and_lists_its_topics(
    kafka_broker: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`kafka status --json` exits 0 only while the broker answers; `kafka topics list`."""
    for name, value in kafka_broker.to_env().items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    status = runner.invoke(kafka_cli.app, ["status", "--json"])
    assert status.exit_code == 0, status.output
    state = json.loads(status.stdout)
    assert state["running"] and state["ready"]
    assert state["pid"] == service(kafka_broker).pid()
    assert set(kafka_broker.all_topics) <= set(state["topics"])
    listed = runner.invoke(kafka_cli.app, ["topics", "list"])
    assert listed.exit_code == 0, listed.output
    assert set(kafka_broker.all_topics) <= set(listed.stdout.split())


def test_replay_publishes_every_row_in_time_order_keyed_by_conversation(
    kafka_broker: Settings, tmp_path: Path
) -> None:
    settings = own_topic(kafka_broker)
    csv = tmp_path / "twcs.csv"
    csv.write_text("\n".join([",".join(TWCS_COLUMNS), *TWCS_ROWS]) + "\n")

    report = replay(csv, settings, rate=50.0, progress=False)
    records = consume(settings, expected=len(TWCS_ROWS))

    assert (report.sent, report.failed) == (len(TWCS_ROWS), 0)
    assert len(records) == len(TWCS_ROWS)
    messages = {json.loads(r.value)["tweet_id"]: (r.key, json.loads(r.value)) for r in records}
    assert {tweet_id: key for tweet_id, (key, _) in messages.items()} == {
        "1": b"1",
        "2": b"1",
        "3": b"1",
        "10": b"10",
        "11": b"11",
    }
    customer = TweetMessage.model_validate(messages["1"][1])
    assert customer.inbound is True
    assert customer.text == "@AppleSupport my phone died"
    assert messages["2"][1]["inbound"] is False
    # the bad row travels as it is; the stream's dead-letter queue deals with it
    assert messages["11"][1]["inbound"] == "maybe"
    assert messages["11"][1]["text"] is None
    # one conversation lands in one partition, in time order
    thread = [r for r in records if r.key == b"1"]
    assert len({r.partition for r in thread}) == 1
    assert [json.loads(r.value)["tweet_id"] for r in thread] == ["1", "2", "3"]


def test_replay_limit_takes_the_earliest_tweets(kafka_broker: Settings, tmp_path: Path) -> None:
    settings = own_topic(kafka_broker)
    csv = tmp_path / "twcs.csv"
    csv.write_text("\n".join([",".join(TWCS_COLUMNS), *TWCS_ROWS]) + "\n")

    assert replay(csv, settings, limit=2, progress=False).sent == 2
    sent = {json.loads(r.value)["tweet_id"] for r in consume(settings, expected=2)}
    assert sent == {"1", "2"}


def test_malformed_raw_messages_arrive_unchanged(kafka_broker: Settings) -> None:
    settings = own_topic(kafka_broker)
    values = [b"not json", b'{"tweet_id": "x1"}', b"\xff\xfe"]

    assert publish_raw(settings, values, key=b"bad") == len(values)
    records = consume(settings, expected=len(values))
    assert sorted(r.value for r in records) == sorted(values)
    assert {r.key for r in records} == {b"bad"}


def test_stop_is_clean_and_a_restart_reuses_the_storage(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    settings = broker_settings(tmp_path_factory.mktemp("kafka-own"), kafka_heap="256m")
    start_broker(settings)
    try:
        assert ensure_topics(settings) == settings.all_topics
        assert stop_broker(settings) is True
        stopped = broker_status(settings)
        assert (stopped.running, stopped.pid, stopped.topics) == (False, None, [])
        assert stop_broker(settings) is False

        start_broker(settings)
        assert set(settings.all_topics) <= set(broker_status(settings).topics)
    finally:
        stop_broker(settings)
    assert not broker_status(settings).running
