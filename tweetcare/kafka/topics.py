"""The project's topics on any cluster: created on purpose (brokers need not auto-create them),
with the configured partitions, replication factor and min.insync.replicas, and described back.

The topics the lake is made from get an explicit retention (never the broker's default, which
may be hours): `ensure_retention` raises it where an existing topic keeps records for less."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import KafkaError, TopicAlreadyExistsError

from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.kafka.admin import INTERNAL_TOPIC_PREFIX, admin_client

MIN_ISR = "min.insync.replicas"
MAX_MESSAGE_BYTES = "max.message.bytes"
RETENTION_MS = "retention.ms"
RETENTION_BYTES = "retention.bytes"
CLEANUP_POLICY = "cleanup.policy"
# records expire by age only: compaction would keep one lake row per key (a batch's partition)
DELETE_POLICY = "delete"
# Kafka's "no limit" for both retention settings
UNLIMITED = -1


@dataclass(frozen=True)
class PartitionInfo:
    partition: int
    leader: int
    replicas: list[int]
    isr: list[int]


@dataclass(frozen=True)
class TopicInfo:
    name: str
    partitions: list[PartitionInfo] = field(default_factory=list)
    min_insync_replicas: int | None = None

    @property
    def replication_factor(self) -> int:
        return max((len(p.replicas) for p in self.partitions), default=0)

    @property
    def under_replicated(self) -> int:
        """Partitions whose in-sync replicas are fewer than their replicas (a broker is down)."""
        return sum(len(p.isr) < len(p.replicas) for p in self.partitions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "partitions": len(self.partitions),
            "replication_factor": self.replication_factor,
            "min_insync_replicas": self.min_insync_replicas,
            "under_replicated": self.under_replicated,
            "assignment": [p.__dict__ for p in self.partitions],
        }


def topic_spec(settings: Settings, name: str | None = None) -> dict[str, Any]:
    """What create_topics gets for the project topic `name`."""
    if settings.topic_min_insync_replicas > settings.topic_replication_factor:
        raise UserError(
            f"TWEETCARE_TOPIC_MIN_INSYNC_REPLICAS ({settings.topic_min_insync_replicas}) exceeds "
            f"TWEETCARE_TOPIC_REPLICATION_FACTOR ({settings.topic_replication_factor}): "
            "no write could ever be acknowledged"
        )
    configs = {MIN_ISR: str(settings.topic_min_insync_replicas)}
    if name == settings.lake_rows_topic:
        configs[MAX_MESSAGE_BYTES] = str(settings.lake_rows_max_bytes)
    if name in lake_source_topics(settings):
        configs |= retention_configs(settings)
    return {
        "num_partitions": settings.topic_partitions,
        "replication_factor": settings.topic_replication_factor,
        "configs": configs,
    }


def lake_source_topics(settings: Settings) -> list[str]:
    """The topics the lake is made from: a record they drop before the lake has it is lost."""
    return [settings.topic_tweets, settings.lake_rows_topic]


def retention_configs(settings: Settings) -> dict[str, str]:
    """The retention every topic the lake depends on is created with."""
    return {
        RETENTION_MS: str(settings.lake_topics_retention_ms),
        RETENTION_BYTES: str(settings.lake_topics_retention_bytes),
        CLEANUP_POLICY: DELETE_POLICY,
    }


def short_retention(current: dict[str, str | None], wanted: dict[str, str]) -> dict[str, str]:
    """The retention settings of `current` that keep records for less than `wanted` (or compact
    them), with the wanted values; a longer retention is left as it is."""
    repairs: dict[str, str] = {}
    for key in (RETENTION_MS, RETENTION_BYTES):
        have, want = int(current.get(key) or UNLIMITED), int(wanted[key])
        if have != UNLIMITED and (want == UNLIMITED or have < want):
            repairs[key] = wanted[key]
    if current.get(CLEANUP_POLICY) != wanted[CLEANUP_POLICY]:
        repairs[CLEANUP_POLICY] = wanted[CLEANUP_POLICY]
    return repairs


def ensure_retention(
    settings: Settings, names: list[str] | None = None
) -> dict[str, dict[str, str]]:
    """Raise the retention of existing topics the lake depends on (default: all of them) where
    it is shorter than configured; returns what it changed, by topic."""
    wanted = retention_configs(settings)
    with admin_client(settings) as client:
        present = set(client.list_topics())
        topics = [n for n in (names or lake_source_topics(settings)) if n in present]
        if not topics:
            return {}
        keys = dict.fromkeys(wanted)
        described = client.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, n, configs=dict(keys)) for n in topics],
            config_filter="all",
        )
        repairs = {
            name: changes
            for name in topics
            if (changes := short_retention(_config_values(described, name), wanted))
        }
        if repairs:
            try:
                client.alter_configs(
                    [
                        ConfigResource(ConfigResourceType.TOPIC, name, configs=changes)
                        for name, changes in repairs.items()
                    ]
                )
            except KafkaError as err:
                raise UserError(
                    f"cannot set the retention of {', '.join(repairs)} on "
                    f"{settings.kafka_bootstrap}: {err}"
                ) from err
    return repairs


def ensure_topics(settings: Settings, names: list[str] | None = None) -> list[str]:
    """Create the missing ones of `names` (default: `settings.all_topics`); returns those it
    created. Existing topics are left as they are (see `describe_topics`)."""
    wanted = settings.all_topics if names is None else names
    # all specs first: a bad replication setting fails before anything is created
    specs = {name: topic_spec(settings, name) for name in wanted}
    created: list[str] = []
    with admin_client(settings) as client:
        existing = set(client.list_topics())
        for name, spec in specs.items():
            if name in existing:
                continue
            try:
                client.create_topics({name: spec}, wait_for_metadata=True)
            except TopicAlreadyExistsError:
                continue  # created meanwhile by another client: what we wanted anyway
            except KafkaError as err:
                raise UserError(
                    f"cannot create topic {name} on {settings.kafka_bootstrap}: {err}"
                ) from err
            created.append(name)
    return created


def describe_topics(settings: Settings, names: list[str] | None = None) -> list[TopicInfo]:
    """Partitions, leaders, replicas, in-sync replicas and min.insync.replicas of each topic
    (default: every non-internal topic), sorted by name."""
    with admin_client(settings) as client:
        present = set(client.list_topics())
        if names is None:
            names = sorted(n for n in present if not n.startswith(INTERNAL_TOPIC_PREFIX))
        missing = sorted(set(names) - present)
        if missing:
            raise UserError(f"no topic {', '.join(missing)} on {settings.kafka_bootstrap}")
        if not names:
            return []
        described = client.describe_topics(names)
        configs = client.describe_configs(
            [
                ConfigResource(ConfigResourceType.TOPIC, name, configs={MIN_ISR: None})
                for name in names
            ],
            config_filter="all",
        )
    return sorted((_topic_info(topic, configs) for topic in described), key=lambda t: t.name)


def _topic_info(topic: dict[str, Any], configs: Any) -> TopicInfo:
    partitions = [
        PartitionInfo(
            partition=p["partition_index"],
            leader=p["leader_id"],
            replicas=list(p["replica_nodes"]),
            isr=list(p["isr_nodes"]),
        )
        for p in sorted(topic["partitions"], key=lambda p: p["partition_index"])
    ]
    return TopicInfo(topic["name"], partitions, _min_isr(configs, topic["name"]))


def _min_isr(configs: dict[str, Any], name: str) -> int | None:
    """min.insync.replicas of one topic out of describe_configs' answer
    ({"topic": {name: {key: {"value": ...}}}})."""
    value = _config_values(configs, name).get(MIN_ISR)
    return None if value is None else int(value)


def _config_values(configs: dict[str, Any], name: str) -> dict[str, str | None]:
    """One topic's settings out of describe_configs' answer, as {key: value}."""
    entries = configs.get("topic", {}).get(name, {})
    return {key: entry.get("value") for key, entry in entries.items()}
