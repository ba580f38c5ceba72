"""What agents, the CLI and status pages read from the ticket store: tickets by filter or by
the number a person quotes, a ticket's thread, totals and statistics."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from tweetcare.core.errors import UserError
from tweetcare.tickets.bulk import chunks
from tweetcare.tickets.database import TicketDatabase
from tweetcare.tickets.lookup import find_ticket_id
from tweetcare.tickets.models import Reply, StreamBatch, Ticket, TicketResponse, TicketTweet
from tweetcare.tickets.stream_writes import BATCH_STAT_FIELDS


class TicketQueries(TicketDatabase):
    """Reads; none creates the database or its tables."""

    def tickets_of(self, conversation_ids: Iterable[str]) -> dict[str, Ticket]:
        """The tickets of these conversations, by conversation id (those that have one)."""
        with self._sessions() as session:
            return _tickets_by_conversation(session, set(conversation_ids))

    def counts(self) -> dict[str, int]:
        """Totals for status displays; zeros when the schema does not exist yet."""
        keys = ("tickets", "attached_tweets", "batches", "messages", "valid", "dead_lettered")
        keys += ("inbound", "outbound")
        if not self._exists() or not inspect(self.engine).has_table(StreamBatch.__tablename__):
            return dict.fromkeys(keys, 0)
        sums = [
            func.coalesce(func.sum(getattr(StreamBatch, name)), 0) for name in BATCH_STAT_FIELDS
        ]
        with self._sessions() as session:
            n_tickets = session.scalar(select(func.count()).select_from(Ticket)) or 0
            n_tweets = session.scalar(select(func.count()).select_from(TicketTweet)) or 0
            row = session.execute(select(func.count(), *sums).select_from(StreamBatch)).one()
        batches, messages, valid, dead, inbound, outbound, _opened = (int(v) for v in row)
        return dict(
            zip(
                keys,
                (n_tickets, n_tweets, batches, messages, valid, dead, inbound, outbound),
                strict=True,
            )
        )

    def list_tickets(
        self,
        limit: int = 20,
        *,
        status: str | None = None,
        team: str | None = None,
        priority: str | None = None,
        category: str | None = None,
        brand: str | None = None,
    ) -> list[Ticket]:
        """The most recently updated tickets first, optionally only those matching every filter."""
        query = select(Ticket)
        filters = {"status": status, "team": team, "priority": priority, "category": category}
        filters["brand"] = brand
        for name, value in filters.items():
            if value is not None:
                query = query.where(getattr(Ticket, name) == value)
        if not self._has_schema():
            return []
        with self._sessions() as session:
            query = query.order_by(Ticket.updated_at.desc(), Ticket.ticket_id)
            return list(session.scalars(query.limit(limit)))

    def get_ticket(self, reference: str) -> Ticket:
        """One ticket by its number (`#10482`, `10482`) or a unique prefix of its id (any
        case); a clear error when there is none, or when a prefix names several."""
        ticket = None
        if self._has_schema():
            with self._sessions() as session:
                ticket_id = find_ticket_id(session, reference)
                ticket = session.get(Ticket, ticket_id) if ticket_id else None
        if ticket is None:
            raise UserError(f"no ticket {reference} in {self.url}")
        return ticket

    def thread_of(self, ticket_id: str) -> dict[str, list[str]]:
        """The customer tweets attached to a ticket and the brand replies seen in its thread."""
        with self._sessions() as session:
            tweets = select(TicketTweet.tweet_id).where(TicketTweet.ticket_id == ticket_id)
            answers = select(TicketResponse.tweet_id).where(TicketResponse.ticket_id == ticket_id)
            return {
                "customer_tweets": sorted(session.scalars(tweets)),
                "brand_replies": sorted(session.scalars(answers)),
            }

    def ticket_stats(self, now: datetime | None = None) -> dict[str, Any]:
        """Tickets by status, team, priority and category; first-response times; SLA breaches."""
        now = now or datetime.now(UTC)
        stats: dict[str, Any] = {"tickets": 0, "sla_breached": 0, "responded": 0}
        for name in ("status", "team", "priority", "category"):
            stats[f"by_{name}"] = {}
        stats["replies"] = {}
        stats["reply_states"] = {}
        stats["first_response_seconds"] = {}
        if not self._has_schema():
            return stats
        with self._sessions() as session:
            for name in ("status", "team", "priority", "category"):
                column = getattr(Ticket, name)
                rows = session.execute(select(column, func.count()).group_by(column)).all()
                stats[f"by_{name}"] = {str(key): int(n) for key, n in sorted(rows)}
            rows = session.execute(select(Reply.decision, func.count()).group_by(Reply.decision))
            stats["replies"] = {str(key): int(n) for key, n in sorted(rows.all())}
            rows = session.execute(select(Reply.state, func.count()).group_by(Reply.state))
            stats["reply_states"] = {str(key): int(n) for key, n in sorted(rows.all())}
            waits = sorted(
                s for s in session.scalars(select(Ticket.first_response_seconds)) if s is not None
            )
            tickets = list(session.scalars(select(Ticket)))
        stats["tickets"] = len(tickets)
        stats["responded"] = len(waits)
        stats["sla_breached"] = sum(t.sla_breached(now) for t in tickets)
        if waits:
            stats["first_response_seconds"] = {
                "mean": sum(waits) / len(waits),
                "median": statistics.median(waits),
                "max": waits[-1],
            }
        return stats


def _tickets_by_conversation(session: Session, conversation_ids: set[str]) -> dict[str, Ticket]:
    found: dict[str, Ticket] = {}
    for chunk in chunks(sorted(conversation_ids)):
        for ticket in session.scalars(select(Ticket).where(Ticket.conversation_id.in_(chunk))):
            found[ticket.conversation_id] = ticket
    return found
