"""The Kafka record as the batch logic sees it, and the one path every record takes to become a
tweet or a dead letter: plain Python values, no Spark types, no exception escapes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from streaming.parse import DeadLetter, parse_message
from tweetcare.core.schemas import TweetMessage


@dataclass(frozen=True)
class KafkaRecord:
    """The columns of Spark's Kafka source the job needs."""

    key: bytes | None
    value: bytes | None
    topic: str
    partition: int
    offset: int
    timestamp: datetime | None


def read_record(record: KafkaRecord) -> TweetMessage | DeadLetter:
    """A record's tweet, or its dead letter; whatever the bytes, this never raises."""
    try:
        return parse_message(record.value)
    except RecursionError:
        return DeadLetter("unreadable message: nested too deeply")
    except Exception as err:  # noqa: BLE001 - one record must never stop the stream
        # the class only: an exception's message can quote the record's values
        return DeadLetter(f"unreadable message: {type(err).__name__}")
