"""Read a topic the way a person looks at it: newest or from the beginning, PII masked, and the
dead letters as reason + where the bad record was + its (masked) value."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaConsumer
from kafka.errors import KafkaError

from tweetcare.core.errors import UsageError, UserError
from tweetcare.core.pii import mask_pii
from tweetcare.core.settings import Settings
from tweetcare.kafka.admin import require_reachable, user_topics

# longest value shown in the one-line view (the --json view keeps it whole)
SHOWN_CHARS = 160


@dataclass(frozen=True)
class TailRecord:
    """One message as shown: where it is, its key, its value (parsed JSON when it is JSON)."""

    topic: str
    partition: int
    offset: int
    timestamp: str
    key: str | None
    value: Any

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def tail(
    settings: Settings,
    topic: str,
    from_beginning: bool = False,
    limit: int | None = None,
    idle_seconds: float | None = None,
) -> Iterator[TailRecord]:
    """Messages of `topic` as they come (or from its start), until `limit` messages or
    `idle_seconds` without one; without either it follows until interrupted."""
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be at least 1, got {limit}")
    require_reachable(settings)
    if topic not in user_topics(settings):
        raise UserError(f"no topic {topic} on {settings.kafka_bootstrap} (see `kafka topics list`)")
    try:
        consumer = KafkaConsumer(
            topic,
            **settings.kafka_client_options(),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest" if from_beginning else "latest",
            consumer_timeout_ms=int(idle_seconds * 1000) if idle_seconds else float("inf"),
        )
    except KafkaError as err:
        raise UserError(f"cannot read {topic} from {settings.kafka_bootstrap}: {err}") from err
    shown = 0
    try:
        for record in consumer:
            yield _readable(record)
            shown += 1
            if limit is not None and shown >= limit:
                return
    finally:
        consumer.close()


def one_line(record: TailRecord, dead_letters: bool) -> str:
    """The record on one line; a dead letter leads with its reason and the bad record's place."""
    where = f"{record.partition}:{record.offset}"
    value = record.value
    if dead_letters and isinstance(value, dict) and "reason" in value:
        source = f"{value.get('topic')}[{value.get('partition')}]@{value.get('offset')}"
        raw = value.get("raw")
        shown = (
            f"({value.get('raw_encoding')}) {raw}" if value.get("raw_encoding") == "base64" else raw
        )
        return f"{where} {record.timestamp} reason={value['reason']!r} source={source} value={_cut(shown)}"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    key = f" key={record.key}" if record.key is not None else ""
    return f"{where} {record.timestamp}{key} {_cut(text)}"


def _readable(record: Any) -> TailRecord:
    return TailRecord(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        timestamp=datetime.fromtimestamp(record.timestamp / 1000, UTC).isoformat(
            timespec="milliseconds"
        ),
        key=_text(record.key),
        value=_masked(_parsed(record.value)),
    )


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", errors="replace")


def _parsed(raw: bytes | None) -> Any:
    """JSON values parsed, other bytes as text (undecodable bytes shown as U+FFFD)."""
    text = _text(raw)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _masked(value: Any) -> Any:
    """Phone numbers and emails masked in every string inside the value."""
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def _cut(text: Any) -> str:
    text = "null" if text is None else str(text)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"
