"""The `alerts` topic: the monitor publishes drift breaches and escalations as JSON, keyed by
alert id; the CLI and the console read them back."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from kafka import KafkaConsumer, KafkaProducer

from tweetcare.core.settings import Settings


def publish_alerts(settings: Settings, messages: Iterable[dict[str, Any]]) -> int:
    """Send each message to `settings.topic_alerts`; returns how many were sent."""
    messages = list(messages)
    if not messages:
        return 0
    producer = KafkaProducer(
        **settings.kafka_client_options(),
        key_serializer=lambda k: k.encode("utf-8"),
        value_serializer=lambda v: json.dumps(v, ensure_ascii=False, default=str).encode("utf-8"),
    )
    try:
        for message in messages:
            producer.send(settings.topic_alerts, key=message["alert_id"], value=message)
        producer.flush()
    finally:
        producer.close()
    return len(messages)


def read_alerts(settings: Settings, limit: int = 50, wait_ms: int = 3000) -> list[dict[str, Any]]:
    """The latest `limit` alerts on the topic, oldest first (reads from the beginning, waits at
    most `wait_ms` for more; a message that is not JSON is skipped)."""
    consumer = KafkaConsumer(
        settings.topic_alerts,
        **settings.kafka_client_options(),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=wait_ms,
    )
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
