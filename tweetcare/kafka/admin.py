"""One way to open kafka-python's admin client, so broker checks and topic setup agree."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from kafka.admin import KafkaAdminClient

from tweetcare.core.settings import Settings

# Internal topics Kafka creates for itself; listings shown to people leave them out.
INTERNAL_TOPIC_PREFIX = "__"


@contextmanager
def admin_client(settings: Settings, timeout_ms: int = 10_000) -> Iterator[KafkaAdminClient]:
    """An admin client on the configured bootstrap server, always closed afterwards."""
    client = KafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id="tweetcare-admin",
        request_timeout_ms=timeout_ms,
    )
    try:
        yield client
    finally:
        client.close()


def user_topics(settings: Settings) -> list[str]:
    """Names of the non-internal topics on the broker, sorted."""
    with admin_client(settings) as client:
        names = client.list_topics()
    return sorted(n for n in names if not n.startswith(INTERNAL_TOPIC_PREFIX))
