"""Where outgoing records go from Python: a small protocol so tests capture them without Kafka.

The Kafka publisher waits out a broker that is down or restarting: connecting is retried, and a
record the broker did not acknowledge is sent again, with bounded exponential backoff (logged),
before `flush` gives up and raises. Sending again can deliver a record twice, so these topics are
at-least-once: give each record a stable `message_id` and let consumers drop repeats.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from kafka import KafkaProducer
from kafka.errors import KafkaError

from tweetcare.backoff import Backoff, retry

# how long flush() waits for the broker to acknowledge one round of sends
FLUSH_TIMEOUT_S = 60.0
# how long, in all, the publisher waits out a broker that is down
DEFAULT_WAIT_S = 300.0


class Publisher(Protocol):
    def publish(self, topic: str, key: str | None, value: dict[str, Any]) -> None:
        """Queue one JSON record."""

    def flush(self) -> None:
        """Block until every queued record is acknowledged; raise if one failed."""


class KafkaPublisher:
    """JSON records to Kafka; `flush` sends again what a down broker did not take (bounded)."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        wait_s: float = DEFAULT_WAIT_S,
        **client_options: Any,
    ) -> None:
        self._backoff = Backoff(total_s=wait_s, first_s=0.5, max_s=15.0)
        options = {"bootstrap_servers": bootstrap_servers, **client_options}
        self._producer: KafkaProducer = retry(
            lambda: KafkaProducer(
                **options,
                client_id="tweetcare-stream",
                acks="all",
                key_serializer=lambda key: key.encode("utf-8") if key is not None else None,
                value_serializer=lambda value: json.dumps(value, ensure_ascii=False).encode(
                    "utf-8"
                ),
            ),
            _retriable,
            self._backoff,
            f"Kafka broker {bootstrap_servers}",
        )
        self._pending: list[tuple[str, str | None, dict[str, Any], Any]] = []

    def publish(self, topic: str, key: str | None, value: dict[str, Any]) -> None:
        self._pending.append((topic, key, value, self._producer.send(topic, key=key, value=value)))

    def flush(self) -> None:
        """Wait for every acknowledgement; resend the refused ones until the broker is back."""

        def acknowledged() -> None:
            pending, self._pending = self._pending, []
            self._producer.flush(timeout=FLUSH_TIMEOUT_S)
            failed: list[KafkaError] = []
            for topic, key, value, future in pending:
                try:
                    future.get(timeout=FLUSH_TIMEOUT_S)
                except KafkaError as err:
                    failed.append(err)
                    self._pending.append((topic, key, value, None))
            if failed:
                raise failed[0]

        def resend_then_check() -> None:
            self._pending = [
                (t, k, v, f if f is not None else self._producer.send(t, key=k, value=v))
                for t, k, v, f in self._pending
            ]
            acknowledged()

        retry(resend_then_check, _retriable, self._backoff, "Kafka broker (publishing)")

    def close(self) -> None:
        self._producer.close()


def _retriable(err: Exception) -> bool:
    """A broker that is down, unreachable or electing a leader; not a record that is too big."""
    return isinstance(err, KafkaError) and bool(getattr(err, "retriable", False))
