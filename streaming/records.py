"""The Kafka record as the batch logic sees it: plain Python values, no Spark types."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class KafkaRecord:
    """The columns of Spark's Kafka source the job needs."""

    key: bytes | None
    value: bytes | None
    topic: str
    partition: int
    offset: int
    timestamp: datetime | None
