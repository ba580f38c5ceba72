"""The topics the lake is made from keep their records long enough, on the real broker: created
with the configured retention, and raised at the stream's start where someone made them with
less (or with compaction, which would keep one lake row per key); rows that wait too long for
the lake raise an alert."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kafka import KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

from tweetcare.core.settings import Settings
from tweetcare.kafka.admin import admin_client
from tweetcare.kafka.topics import ensure_retention, ensure_topics, lake_source_topics
from tweetcare.monitoring.lake_lag import LakeLagWatch, measure

pytestmark = pytest.mark.integration

KEYS = ("retention.ms", "retention.bytes", "cleanup.policy")
WEEK_MS = 7 * 24 * 3600 * 1000


def configs_of(settings: Settings, name: str) -> dict[str, str]:
    with admin_client(settings) as client:
        answer = client.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name, configs=dict.fromkeys(KEYS))],
            config_filter="all",
        )
    entries = answer["topic"][name]
    return {key: entries[key]["value"] for key in KEYS}


def own_topics(kafka_broker: Settings) -> Settings:
    """The broker's settings with topics of this test's own (the broker is shared)."""
    return kafka_broker.model_copy(update={"topic_tweets": f"tweets-{uuid.uuid4().hex[:8]}"})


def test_the_lake_topics_are_created_with_the_configured_retention(
    kafka_broker: Settings,
) -> None:
    settings = own_topics(kafka_broker)
    assert sorted(ensure_topics(settings, lake_source_topics(settings))) == sorted(
        lake_source_topics(settings)
    )
    for name in lake_source_topics(settings):
        assert configs_of(settings, name) == {
            "retention.ms": str(WEEK_MS),
            "retention.bytes": "-1",
            "cleanup.policy": "delete",
        }
    assert ensure_retention(settings) == {}  # nothing to repair


def test_a_shorter_retention_is_raised_and_a_longer_one_kept(kafka_broker: Settings) -> None:
    settings = own_topics(kafka_broker)
    tweets, lake_rows = lake_source_topics(settings)
    with admin_client(settings) as client:
        client.create_topics(
            [
                # someone's hour-long, compacted topic: rows would expire or be compacted away
                NewTopic(
                    tweets,
                    1,
                    1,
                    topic_configs={"retention.ms": "3600000", "cleanup.policy": "compact"},
                ),
                NewTopic(lake_rows, 1, 1, topic_configs={"retention.ms": "-1"}),
            ]
        )
    repaired = ensure_retention(settings)
    assert repaired == {
        tweets: {"retention.ms": str(WEEK_MS), "cleanup.policy": "delete"},
    }
    assert configs_of(settings, tweets)["retention.ms"] == str(WEEK_MS)
    assert configs_of(settings, tweets)["cleanup.policy"] == "delete"
    assert configs_of(settings, lake_rows)["retention.ms"] == "-1"  # kept for ever: left so


def test_rows_waiting_too_long_for_the_lake_raise_one_alert_until_it_catches_up(
    kafka_broker: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = own_topics(kafka_broker).model_copy(update={"lake_lag_alert_seconds": 600.0})
    ensure_topics(settings, lake_source_topics(settings))
    topic = settings.lake_rows_topic
    now = datetime.now(UTC)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    # five rows written two hours ago (a MERGE failing since), three a moment ago
    for age in [timedelta(hours=2)] * 5 + [timedelta(seconds=1)] * 3:
        when = int((now - age).timestamp() * 1000)
        producer.send(topic, value=b"{}", partition=0, timestamp_ms=when)
    producer.flush()
    producer.close()

    lag = measure(settings, {"0": 2}, now)  # the lake merged the first two
    assert (lag.behind["0"], lag.overdue["0"], lag.alerting) == (6, 3, True)
    assert measure(settings, {"0": 5}, now).to_dict() | {"partitions": None} == {
        "total": 3,
        "partitions": None,
        "overdue": 0,
        "alert_after_s": 600.0,
        "alert": False,
    }

    merged = {"0": 2}
    published: list[dict[str, Any]] = []

    def publish(_settings: Settings, messages: Iterable[dict[str, Any]]) -> int:
        published.extend(messages)
        return len(published)

    watch = LakeLagWatch(settings, lambda: dict(merged), publish)
    with caplog.at_level(logging.INFO, logger="tweetcare.monitoring.lake_lag"):
        for merged_up_to in (2, 3, 8):  # still overdue, still overdue, caught up
            merged["0"] = merged_up_to
            watch._next = 0.0  # the check is due
            watch.check()
    (alert,) = published  # one alert while it stayed overdue
    assert (alert["type"], alert["topic"], alert["count"]) == ("lake_lag", topic, 3)
    assert "lake lag alert: 3 scored rows" in caplog.text
    assert "the lake has caught up" in caplog.text and not watch.alerting
