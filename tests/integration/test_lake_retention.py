"""The topics the lake is made from keep their records long enough, on the real broker: created
with the configured retention, and raised at the stream's start where someone made them with
less (or with compaction, which would keep one lake row per key)."""

from __future__ import annotations

import uuid

import pytest
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

from tweetcare.core.settings import Settings
from tweetcare.kafka.admin import admin_client
from tweetcare.kafka.topics import ensure_retention, ensure_topics, lake_source_topics

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
