"""Incidents in the ticket store: recorded from the monitor's alerts, read back while they are
active, and the open tickets in their scope raised (each raise with its audit entry)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, func, inspect, or_, select, text
from sqlalchemy import update as sa_update

from tweetcare.tickets import audit
from tweetcare.tickets.bulk import row_of, update_tickets
from tweetcare.tickets.database import ConcurrentWrite, TicketDatabase
from tweetcare.tickets.incidents import Incident, incident_for
from tweetcare.tickets.lifecycle import raise_for_incident
from tweetcare.tickets.models import OPEN, IncidentRecord, Ticket, incident_scope_key, utc
from tweetcare.tickets.routing import RoutingRules

# who the audit trail names for a priority raise: the stream (a ticket opened or updated in an
# active incident) or the monitor (open tickets already in scope when it records the incident)
STREAM_ACTOR = "stream"
MONITOR_ACTOR = "monitor"
INCIDENT_SCOPE = ("brand", "category", "conversation_id")


@dataclass(frozen=True)
class IncidentOutcome:
    """What one `record_incidents` did: incidents written, open tickets raised."""

    recorded: int
    raised: int


class IncidentRecords(TicketDatabase):
    """Record incidents, read the active ones, raise the open tickets they cover."""

    def record_incidents(
        self,
        incidents: Iterable[Incident],
        ttl: timedelta,
        routing: RoutingRules,
        now: datetime | None = None,
    ) -> IncidentOutcome:
        """Record escalation incidents and raise the open tickets already in their scope.

        Called where the alerts are made (`run_monitor`); the stream raises the tickets it opens
        or updates afterwards. One row per scope and the window it started in (its key): a later
        alert in the scope while the incident is active moves its alert id and `last_seen` on,
        and it stays active until `last_seen + ttl`; after that, a new row starts. The open
        tickets in scope are raised in one UPDATE, each with a `raise` audit entry, in the same
        transaction. Recording the same alerts again (a rerun) raises nothing twice.
        """
        incidents = list(incidents)
        if not incidents:
            return IncidentOutcome(recorded=0, raised=0)
        now = utc(now or datetime.now(UTC))
        return self._retrying(
            lambda: self._record_incidents_once(incidents, ttl, routing, now),
            "recording incidents",
        )

    def _record_incidents_once(
        self, incidents: list[Incident], ttl: timedelta, routing: RoutingRules, now: datetime
    ) -> IncidentOutcome:
        latest: dict[str, Incident] = {}
        for i in incidents:
            scope = incident_scope_key(i.kind, i.brand, i.category, i.conversation_id)
            if scope not in latest or latest[scope].last_seen < i.last_seen:
                latest[scope] = i
        table = IncidentRecord.__table__
        with self.writer() as conn:
            if conn.dialect.name == "postgresql":
                # a new incident's key holds its window, so no row lock stops two monitor runs
                # from opening the same scope twice: incident writers take turns (SQLite's
                # writer holds the database's write lock already)
                conn.execute(text(f"LOCK TABLE {table.name} IN SHARE ROW EXCLUSIVE MODE"))
            # the incidents each alert could go on: those still active when its window ended
            since = min(utc(i.last_seen) for i in latest.values())
            query = select(table).where(table.c.expires_at >= since).with_for_update()
            going_on = _latest_per_scope(conn.execute(query).mappings())
            new: list[dict[str, Any]] = []
            later: list[dict[str, Any]] = []
            for scope, incident in latest.items():
                seen = utc(incident.last_seen)
                old = going_on.get(scope)
                if old is None or utc(old["expires_at"]) < seen:
                    new.append(_incident_row(_incident_key(scope, seen), incident, ttl))
                elif utc(old["last_seen"]) < seen:
                    later.append(
                        {
                            "b_scope_key": old["scope_key"],
                            "b_alert_id": incident.alert_id,
                            "b_last_seen": seen,
                            "b_expires_at": seen + ttl,
                        }
                    )
            if new:
                insert = self._insert(table).returning(table.c.scope_key)
                if len(conn.execute(insert, new).scalars().all()) != len(new):
                    raise ConcurrentWrite("an incident was recorded by another writer")
            if later:
                update = (
                    sa_update(table)
                    .where(table.c.scope_key == bindparam("b_scope_key"))
                    .values(
                        alert_id=bindparam("b_alert_id"),
                        last_seen=bindparam("b_last_seen"),
                        expires_at=bindparam("b_expires_at"),
                    )
                )
                conn.execute(update, later)
            active = [
                i
                for i in read_active_incidents(conn, now)
                if incident_scope_key(i.kind, i.brand, i.category, i.conversation_id) in latest
            ]
            raised = self._raise_open_tickets(conn, active, routing, now)
        return IncidentOutcome(recorded=len(new) + len(later), raised=raised)

    def _raise_open_tickets(
        self, conn: Connection, incidents: list[Incident], routing: RoutingRules, now: datetime
    ) -> int:
        """Raise the open, not yet raised tickets these incidents cover: one SELECT (locked),
        one executemany UPDATE, their audit entries. Returns how many were raised."""
        if not incidents or not routing.priority.incident_raise:
            return 0
        tickets = Ticket.__table__
        # the SQL twin of Incident.covers (None: any value); an incident needs some scope
        scopes = [and_(*terms) for i in incidents if (terms := _scope_terms(tickets, i))]
        if not scopes:
            return 0
        query = (
            select(tickets)
            .where(tickets.c.status == OPEN, tickets.c.incident_alert_id.is_(None), or_(*scopes))
            .order_by(tickets.c.conversation_id)  # the stream's lock order: no deadlock
            .with_for_update()
        )
        updated: list[dict[str, Any]] = []
        entries: list[dict[str, Any]] = []
        for row in conn.execute(query).mappings():
            ticket = Ticket(**row)
            raised = raise_in_incident(ticket, incidents, routing, now, MONITOR_ACTOR)
            if raised:
                updated.append(row_of(ticket))
                entries += raised
        if updated:
            update_tickets(conn, updated)
            audit.append(conn, entries)
        return len(updated)

    def active_incidents(self, now: datetime | None = None) -> list[Incident]:
        """Incidents still active at `now` (default: now), the most recently seen first."""
        if not self._has_schema() or not inspect(self.engine).has_table(
            IncidentRecord.__tablename__
        ):
            return []
        with self.engine.connect() as conn:
            return read_active_incidents(conn, utc(now or datetime.now(UTC)))

    def incident_counts(self, now: datetime | None = None) -> dict[str, int]:
        """How many incidents the store holds, and how many are active at `now` (default:
        now): what a summary of the monitor reports, read back rather than counted on the way."""
        if not self._has_schema() or not inspect(self.engine).has_table(
            IncidentRecord.__tablename__
        ):
            return {"incidents": 0, "active": 0}
        table = IncidentRecord.__table__
        active = table.c.expires_at > utc(now or datetime.now(UTC))
        query = select(func.count(), func.count().filter(active)).select_from(table)
        with self.engine.connect() as conn:
            total, live = conn.execute(query).one()
        return {"incidents": int(total), "active": int(live)}


def _incident_key(scope: str, first_seen: datetime) -> str:
    """An incident's unique key: its scope and the window it was first seen in, so a later
    incident in the same scope (after this one expired) is a row of its own, not an overwrite."""
    return f"{scope}@{first_seen:%Y%m%dT%H%M%SZ}"


def _latest_per_scope(rows: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """The most recently seen of these incident rows in each scope."""
    latest: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        scope = incident_scope_key(
            row["kind"], row["brand"], row["category"], row["conversation_id"]
        )
        if scope not in latest or utc(latest[scope]["last_seen"]) < utc(row["last_seen"]):
            latest[scope] = row
    return latest


def _incident_row(key: str, incident: Incident, ttl: timedelta) -> dict[str, Any]:
    """A row of `incidents` (all times UTC: SQLite compares them as text)."""
    seen = utc(incident.last_seen)
    return {
        "scope_key": key,
        "kind": incident.kind,
        "brand": incident.brand,
        "category": incident.category,
        "conversation_id": incident.conversation_id,
        "alert_id": incident.alert_id,
        "first_seen": seen,
        "last_seen": seen,
        "expires_at": seen + ttl,
    }


def _scope_terms(tickets: Table, incident: Incident) -> list[Any]:
    return [
        tickets.c[k] == getattr(incident, k)
        for k in INCIDENT_SCOPE
        if getattr(incident, k) is not None
    ]


def read_active_incidents(conn: Connection, now: datetime) -> list[Incident]:
    """Incidents not expired at `now`, the most recently seen first (it wins an overlap)."""
    table = IncidentRecord.__table__
    query = select(table).where(table.c.expires_at > now)
    rows = conn.execute(query.order_by(table.c.last_seen.desc(), table.c.scope_key)).mappings()
    return [
        Incident(
            alert_id=row["alert_id"],
            kind=row["kind"],
            brand=row["brand"],
            category=row["category"],
            conversation_id=row["conversation_id"],
            last_seen=utc(row["last_seen"]),
        )
        for row in rows
    ]


def raise_in_incident(
    ticket: Ticket,
    incidents: Sequence[Incident],
    routing: RoutingRules,
    now: datetime,
    actor: str,
) -> list[dict[str, Any]]:
    """Raise the ticket if an active incident covers it; its audit entry (none if not raised)."""
    incident = incident_for(incidents, ticket.brand, ticket.category, ticket.conversation_id)
    if incident is None:
        return []
    before = raise_for_incident(ticket, incident, routing)
    if before is None:
        return []
    scope = ", ".join(
        f"{k}={getattr(incident, k)}" for k in INCIDENT_SCOPE if getattr(incident, k) is not None
    )
    moved = f"{before} -> {ticket.priority}" if before != ticket.priority else f"stays {before}"
    detail = f"priority {moved}: {incident.kind} incident {incident.alert_id}"
    entry = {"at": now, "actor": actor, "action": audit.RAISE, "target_id": ticket.ticket_id}
    return [entry | {"ticket_id": ticket.ticket_id, "detail": f"{detail} ({scope})"}]
