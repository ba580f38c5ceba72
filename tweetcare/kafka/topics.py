"""The project's topics, created on purpose because the broker does not auto-create them."""

from __future__ import annotations

from kafka.errors import TopicAlreadyExistsError

from tweetcare.core.settings import Settings
from tweetcare.kafka.admin import admin_client

# one broker holds every replica
REPLICATION_FACTOR = 1


def ensure_topics(settings: Settings) -> list[str]:
    """Create the missing ones of `settings.all_topics`; returns the names it created."""
    created: list[str] = []
    with admin_client(settings) as client:
        existing = set(client.list_topics())
        for name in settings.all_topics:
            if name in existing:
                continue
            spec = {
                "num_partitions": settings.topic_partitions,
                "replication_factor": REPLICATION_FACTOR,
            }
            try:
                client.create_topics({name: spec}, wait_for_metadata=True)
            except TopicAlreadyExistsError:
                continue  # created meanwhile by another client: what we wanted anyway
            created.append(name)
    return created
