"""How far the lake is behind the stream's scored rows, and the alert when rows wait too long.

The lake query merges the lake rows topic into the lake; rows it has not merged yet wait in
Kafka, which drops them once the topic's retention has passed. So the lag is measured where the
rows wait, per partition: the rows between the lake's last merged offset and the topic's end
(`behind`) and, of those, the rows written more than `lake_lag_alert_seconds` ago (`overdue`,
found with Kafka's time index, no record read). Overdue rows raise an alert: logged, published
on the alerts topic, and shown by `stream status`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.monitoring.alerts import publish_alerts

ALERT_TYPE = "lake_lag"
# how long one measurement may wait for Kafka
KAFKA_TIMEOUT_MS = 10_000

log = logging.getLogger("tweetcare.monitoring.lake_lag")


@dataclass(frozen=True)
class LakeLag:
    """Rows of the lake rows topic not merged into the lake yet, by partition number."""

    topic: str
    behind: dict[str, int]
    overdue: dict[str, int]
    threshold_s: float

    @property
    def total(self) -> int:
        return sum(self.behind.values())

    @property
    def overdue_total(self) -> int:
        return sum(self.overdue.values())

    @property
    def alerting(self) -> bool:
        return self.overdue_total > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "partitions": self.behind,
            "overdue": self.overdue_total,
            "alert_after_s": self.threshold_s,
            "alert": self.alerting,
        }


def measure(settings: Settings, merged: dict[str, int], now: datetime) -> LakeLag:
    """The lake's lag behind `settings.lake_rows_topic`, given the next offset the lake query
    merges in each partition (`merged`, by partition number; 0 where it never merged)."""
    topic = settings.lake_rows_topic
    threshold_s = settings.lake_lag_alert_seconds
    consumer = KafkaConsumer(
        **settings.kafka_client_options(),
        client_id="tweetcare-lake-lag",
        request_timeout_ms=KAFKA_TIMEOUT_MS,
    )
    try:
        partitions = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        ends = consumer.end_offsets(partitions, timeout_ms=KAFKA_TIMEOUT_MS)
        cutoff_ms = int((now.timestamp() - threshold_s) * 1000)
        recent = consumer.offsets_for_times(
            {tp: cutoff_ms for tp in partitions}, timeout_ms=KAFKA_TIMEOUT_MS
        )
    finally:
        consumer.close()
    behind: dict[str, int] = {}
    overdue: dict[str, int] = {}
    for tp in partitions:
        done, end = int(merged.get(str(tp.partition), 0)), int(ends[tp])
        # the first row written after the cutoff; none: every row is older
        first_recent = recent[tp].offset if recent.get(tp) is not None else end
        behind[str(tp.partition)] = max(end - done, 0)
        overdue[str(tp.partition)] = max(min(first_recent, end) - done, 0)
    return LakeLag(topic, behind, overdue, threshold_s)


def alert_message(lag: LakeLag, now: datetime) -> dict[str, Any]:
    """The alert on the alerts topic, keyed by topic and minute (a repeat within a minute is
    the same alert)."""
    return {
        "type": ALERT_TYPE,
        "kind": ALERT_TYPE,
        "alert_id": f"{ALERT_TYPE}:{lag.topic}:{now:%Y%m%dT%H%M}",
        "topic": lag.topic,
        "window_end": now.isoformat(),
        "published_at": now.isoformat(),
        "count": lag.overdue_total,
        "behind": lag.total,
        "threshold": lag.threshold_s,
    }


def describe(lag: LakeLag) -> str:
    return (
        f"{lag.overdue_total} scored rows of {lag.topic} have waited more than "
        f"{lag.threshold_s:.0f}s to be merged into the lake ({lag.total} in all); the topic "
        "drops them once its retention has passed"
    )


class LakeLagWatch:
    """Measures the lake's lag every `settings.lake_lag_check_seconds` (the stream's driver
    calls `check` in its loop) and alerts once each time it goes overdue: logged and published;
    it logs again once the lake has caught up. Kafka not answering is logged, not raised."""

    def __init__(
        self,
        settings: Settings,
        merged: Callable[[], dict[str, int]],
        publish: Callable[[Settings, Iterable[dict[str, Any]]], int] = publish_alerts,
    ) -> None:
        self.settings = settings
        self.merged = merged
        self.publish = publish
        self.alerting = False
        self._next = 0.0

    def check(self) -> LakeLag | None:
        if time.monotonic() < self._next:
            return None
        self._next = time.monotonic() + self.settings.lake_lag_check_seconds
        now = datetime.now(UTC)
        try:
            lag = measure(self.settings, self.merged(), now)
        except KafkaError as err:
            log.warning("could not measure the lake's lag: %s", type(err).__name__)
            return None
        if lag.alerting and not self.alerting:
            log.error("lake lag alert: %s", describe(lag))
            try:
                self.publish(self.settings, [alert_message(lag, now)])
            except UserError as err:
                log.warning("the lake lag alert was not published (retried): %s", err)
                return lag
        elif self.alerting and not lag.alerting:
            log.info("the lake has caught up: %d rows to merge, none overdue", lag.total)
        self.alerting = lag.alerting
        return lag
