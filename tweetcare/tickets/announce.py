"""Announce approved replies on the `replies` topic, the same way from the CLI and the console.

The topic is at-least-once (a retried send can land twice): each message carries a stable
`message_id` (the reply id and who cleared it) so a consumer drops a repeat.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from tweetcare.core.settings import Settings
from tweetcare.kafka.producer import FLUSH_TIMEOUT_S, producer
from tweetcare.tickets.models import reply_message_id


def publish_replies(settings: Settings, replies: Iterable[dict[str, Any]]) -> None:
    """Send each reply (its `to_dict()`), keyed by conversation; raise if the broker refuses."""
    with producer(settings) as kafka:
        futures = [
            kafka.send(
                settings.topic_replies,
                key=reply["conversation_id"].encode("utf-8"),
                value=json.dumps(with_message_id(reply), ensure_ascii=False).encode("utf-8"),
            )
            for reply in replies
        ]
        kafka.flush(timeout=FLUSH_TIMEOUT_S)
        for future in futures:
            future.get(timeout=FLUSH_TIMEOUT_S)


def with_message_id(reply: dict[str, Any]) -> dict[str, Any]:
    """The reply's message with its stable id (reply id and who cleared it); the stream's
    drafts use the same scheme."""
    return {"message_id": reply_message_id(reply["reply_id"], reply["decision"]), **reply}
