"""Announce approved replies on the `replies` topic, the same way from the CLI and the console."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from tweetcare.core.settings import Settings
from tweetcare.kafka.replay import FLUSH_TIMEOUT_S, producer


def publish_replies(settings: Settings, replies: Iterable[dict[str, Any]]) -> None:
    """Send each reply (its `to_dict()`), keyed by conversation; raise if the broker refuses."""
    with producer(settings) as kafka:
        futures = [
            kafka.send(
                settings.topic_replies,
                key=reply["conversation_id"].encode("utf-8"),
                value=json.dumps(reply, ensure_ascii=False).encode("utf-8"),
            )
            for reply in replies
        ]
        kafka.flush(timeout=FLUSH_TIMEOUT_S)
        for future in futures:
            future.get(timeout=FLUSH_TIMEOUT_S)
