"""Where the stream's outgoing records go: a small protocol so tests capture them without Kafka."""

from __future__ import annotations

import json
from typing import Any, Protocol

from kafka import KafkaProducer

# how long flush() waits for the broker to acknowledge everything sent
FLUSH_TIMEOUT_S = 60.0


class Publisher(Protocol):
    def publish(self, topic: str, key: str | None, value: dict[str, Any]) -> None:
        """Queue one JSON record."""

    def flush(self) -> None:
        """Block until every queued record is acknowledged; raise if one failed."""


class KafkaPublisher:
    """JSON records to Kafka; `flush` raises the first send error so the batch fails and replays."""

    def __init__(self, bootstrap_servers: str) -> None:
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap_servers,
            client_id="tweetcare-stream",
            acks="all",
            key_serializer=lambda key: key.encode("utf-8") if key is not None else None,
            value_serializer=lambda value: json.dumps(value, ensure_ascii=False).encode("utf-8"),
        )
        self._pending: list[Any] = []

    def publish(self, topic: str, key: str | None, value: dict[str, Any]) -> None:
        self._pending.append(self._producer.send(topic, key=key, value=value))

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        self._producer.flush(timeout=FLUSH_TIMEOUT_S)
        for future in pending:
            future.get(timeout=FLUSH_TIMEOUT_S)

    def close(self) -> None:
        self._producer.close()
