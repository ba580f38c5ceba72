"""The `alerts` topic: the monitor publishes drift breaches and escalations as JSON, keyed by
alert id; the CLI and the console read them back."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError

from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.process import port_open

# how long a send may wait for the broker before the monitor says it is unreachable
SEND_TIMEOUT_MS = 20_000


def _require_broker(settings: Settings) -> None:
    """Fail at once when no bootstrap server accepts a connection (the clients would retry for
    minutes before saying so)."""
    for server in settings.kafka_bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        if port.isdigit() and port_open(host or "127.0.0.1", int(port)):
            return
    raise _unreachable(settings, ConnectionRefusedError())


def _unreachable(settings: Settings, err: Exception) -> UserError:
    return UserError(
        f"Kafka at {settings.kafka_bootstrap} did not answer ({type(err).__name__}): start it "
        "with `tweetcare kafka start`, or run the monitor with --no-publish"
    )


def publish_alerts(settings: Settings, messages: Iterable[dict[str, Any]]) -> int:
    """Send each message to `settings.topic_alerts`; returns how many were sent."""
    messages = list(messages)
    if not messages:
        return 0
    _require_broker(settings)
    try:
        producer = KafkaProducer(
            **settings.kafka_client_options(),
            key_serializer=lambda k: k.encode("utf-8"),
            value_serializer=lambda v: json.dumps(v, ensure_ascii=False, default=str).encode(),
            max_block_ms=SEND_TIMEOUT_MS,
        )
        try:
            for message in messages:
                producer.send(settings.topic_alerts, key=message["alert_id"], value=message)
            producer.flush(timeout=SEND_TIMEOUT_MS / 1000)
        finally:
            producer.close()
    except KafkaError as err:
        raise _unreachable(settings, err) from err
    return len(messages)


def read_alerts(settings: Settings, limit: int = 50, wait_ms: int = 3000) -> list[dict[str, Any]]:
    """The latest `limit` alerts on the topic, oldest first (reads from the beginning, waits at
    most `wait_ms` for more; a message that is not JSON is skipped)."""
    _require_broker(settings)
    try:
        consumer = KafkaConsumer(
            settings.topic_alerts,
            **settings.kafka_client_options(),
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            consumer_timeout_ms=wait_ms,
        )
    except KafkaError as err:
        raise _unreachable(settings, err) from err
    out: list[dict[str, Any]] = []
    try:
        for record in consumer:
            try:
                out.append(json.loads(record.value))
            except (TypeError, ValueError):
                continue
    finally:
        consumer.close()
    out.sort(key=lambda m: str(m.get("published_at") or m.get("window_end") or ""))
    return out[-limit:]
