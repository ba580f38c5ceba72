"""One way to open kafka-python's admin client, so broker checks and topic setup agree."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings

# Internal topics Kafka creates for itself; listings shown to people leave them out.
INTERNAL_TOPIC_PREFIX = "__"
# how long one bootstrap address may take to accept a TCP connection
CONNECT_TIMEOUT_S = 1.0


@contextmanager
def admin_client(settings: Settings, timeout_ms: int = 10_000) -> Iterator[KafkaAdminClient]:
    """An admin client on the configured cluster (bootstrap list and security options), always
    closed afterwards; an unreachable cluster is a one-line UserError."""
    require_reachable(settings)
    try:
        client = KafkaAdminClient(
            **settings.kafka_client_options(),
            client_id="tweetcare-admin",
            request_timeout_ms=timeout_ms,
        )
    except KafkaError as err:
        raise UserError(f"cannot reach Kafka at {settings.kafka_bootstrap}: {err}") from err
    try:
        yield client
    finally:
        client.close()


def reachable(settings: Settings) -> bool:
    """Some address of the bootstrap list accepts a TCP connection (a quick check that spares
    the clients' own 30-60 s wait when nothing listens)."""
    for address in settings.kafka_bootstrap.split(","):
        host, _, port = address.strip().rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), CONNECT_TIMEOUT_S):
                return True
        except (OSError, ValueError):
            continue
    return False


def require_reachable(settings: Settings) -> None:
    if not reachable(settings):
        raise UserError(
            f"no Kafka broker answers at {settings.kafka_bootstrap}; run `tweetcare kafka start` "
            "or set TWEETCARE_KAFKA_BOOTSTRAP_SERVERS to your cluster"
        )


def user_topics(settings: Settings) -> list[str]:
    """Names of the non-internal topics on the cluster, sorted."""
    with admin_client(settings) as client:
        names = client.list_topics()
    return sorted(n for n in names if not n.startswith(INTERNAL_TOPIC_PREFIX))
