"""The one Kafka producer the project sends with: replay, the reply announcements and X ingest.

Every sender gets the same client (the configured cluster, acks from every in-sync replica and
idempotence: the kafka-python defaults, a short linger to batch) and the same patience for the
last acknowledgements, so a change to how we produce is made once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from kafka import KafkaProducer
from kafka.errors import KafkaError

from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.kafka.admin import require_reachable

# seconds to wait for the last acknowledgements before reporting
FLUSH_TIMEOUT_S = 60.0
# how long the producer waits to fill a batch before sending it
LINGER_MS = 5


def open_producer(settings: Settings) -> KafkaProducer:
    """A producer on the configured cluster, for a sender that outlives one block (the caller
    closes it with `close_producer`); a clear error when no broker takes the connection."""
    try:
        return KafkaProducer(**settings.kafka_client_options(), linger_ms=LINGER_MS)
    except KafkaError as err:
        raise UserError(
            f"no Kafka broker answers at {settings.kafka_bootstrap} ({err}); "
            "run `tweetcare kafka start`"
        ) from err


def close_producer(producer: KafkaProducer) -> None:
    """Close after waiting (at most FLUSH_TIMEOUT_S) for what is still in flight."""
    producer.close(timeout=FLUSH_TIMEOUT_S)


@contextmanager
def producer(settings: Settings) -> Iterator[KafkaProducer]:
    """A producer for one block, closed after flushing when the block ends."""
    # the producer itself would wait 30 s before saying nothing answers
    require_reachable(settings)
    kafka = open_producer(settings)
    try:
        yield kafka
    finally:
        close_producer(kafka)
