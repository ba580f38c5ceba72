"""Active incidents from recent escalation alerts, for routing to raise ticket priority.

An incident lives with the tickets: the store records it and raises the tickets in its scope.
The monitor makes incidents from its alerts and hands them to the store, never the other way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class Incident:
    """An escalation still active: its scope (brand, category, conversation; None = any)."""

    alert_id: str
    kind: str
    brand: str | None
    category: str | None
    conversation_id: str | None
    last_seen: datetime

    def covers(
        self, brand: str | None, category: str | None, conversation_id: str | None = None
    ) -> bool:
        """Whether a ticket with this brand, category and conversation is in the incident."""
        scope = (
            (self.brand, brand),
            (self.category, category),
            (self.conversation_id, conversation_id),
        )
        return all(want is None or want == got for want, got in scope)


def active_incidents(
    alerts: Iterable[Mapping[str, Any]], now: datetime, ttl: timedelta
) -> list[Incident]:
    """Escalation alerts whose window ended within `ttl` before `now`, one per scope (the
    latest), newest first. Drift alerts are about the models, not a customer incident."""
    latest: dict[tuple[Any, ...], Incident] = {}
    for alert in alerts:
        if alert.get("type") != "escalation":
            continue
        ended = datetime.fromisoformat(str(alert["window_end"]))
        if not now - ttl <= ended <= now + ttl:
            continue
        incident = Incident(
            alert_id=str(alert["alert_id"]),
            kind=str(alert["kind"]),
            brand=alert.get("brand"),
            category=alert.get("category"),
            conversation_id=alert.get("conversation_id"),
            last_seen=ended,
        )
        scope = (incident.kind, incident.brand, incident.category, incident.conversation_id)
        if scope not in latest or latest[scope].last_seen < ended:
            latest[scope] = incident
    return sorted(latest.values(), key=lambda i: i.last_seen, reverse=True)


def incident_for(
    incidents: Iterable[Incident],
    brand: str | None,
    category: str | None,
    conversation_id: str | None = None,
) -> Incident | None:
    """The first active incident that covers a ticket, or None."""
    return next((i for i in incidents if i.covers(brand, category, conversation_id)), None)
