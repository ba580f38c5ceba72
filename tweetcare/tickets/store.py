"""The ticket store: one open ticket per customer conversation, on any SQLAlchemy URL.

Written by the streaming job and read by the CLI. Every write is keyed (tweet id, conversation,
batch id) so the stream's at-least-once replays change nothing the second time.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from tweetcare.core.errors import UserError
from tweetcare.core.schemas import TWCS_DATE_FORMAT, Analysis, TweetMessage
from tweetcare.tickets.engine import make_engine, sqlite_file
from tweetcare.tickets.lifecycle import (
    attach_follow_up,
    draft_for,
    open_ticket,
    record_response,
)
from tweetcare.tickets.models import (
    APPROVED,
    AUTO,
    CLOSED,
    PENDING,
    REJECTED,
    SENDABLE,
    Base,
    Reply,
    StreamBatch,
    Ticket,
    TicketResponse,
    TicketTweet,
)
from tweetcare.tickets.replies import ReplyTemplates
from tweetcare.tickets.routing import RoutingRules

# ids per IN (...) clause: well under SQLite's and Postgres' parameter limits
IN_CLAUSE_CHUNK = 500
BATCH_STAT_FIELDS = (
    "n_messages",
    "n_valid",
    "n_dead_lettered",
    "n_inbound",
    "n_outbound",
    "n_tickets_opened",
)


@dataclass(frozen=True)
class TicketEvent:
    """One tweet and what the models read in it (brand replies carry only `inbound`)."""

    tweet: TweetMessage
    analysis: Analysis


@dataclass
class Outcome:
    """What one `apply` did, tweet by tweet."""

    opened: int = 0
    attached: int = 0
    responses: int = 0
    no_ticket: int = 0


class TicketStore:
    """Tickets, the tweets attached to them and per-batch stream statistics."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._checked = False

    def create_schema(self) -> None:
        """Create the tables that are missing (and a SQLite file's folder)."""
        path = sqlite_file(self.url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._check_columns()
        Base.metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def apply(
        self,
        events: Sequence[TicketEvent],
        routing: RoutingRules,
        templates: ReplyTemplates,
        batch_id: str | None = None,
        data_version: str | None = None,
    ) -> Outcome:
        """Apply analysed tweets in time order: open, attach, mark responded, draft replies.

        A customer tweet that needs a ticket opens one for its conversation (routed, prioritised,
        with an SLA and a drafted reply); any later customer tweet in the thread attaches to it;
        a brand reply in the thread marks it responded. A tweet already applied (a replayed
        batch) is skipped, so nothing changes twice.
        """
        now = datetime.now(UTC)
        outcome = Outcome()
        ordered = sorted(events, key=lambda e: _tweet_time(e.tweet.created_at, default=now))
        with self._sessions.begin() as session:
            ids = [e.tweet.tweet_id for e in ordered]
            seen = _existing(session, TicketTweet.tweet_id, ids)
            seen |= _existing(session, TicketResponse.tweet_id, ids)
            tickets = _tickets_by_conversation(session, {e.tweet.conversation_id for e in ordered})
            for event in ordered:
                tweet, analysis = event.tweet, event.analysis
                if tweet.tweet_id in seen:
                    continue
                seen.add(tweet.tweet_id)
                when = _tweet_time(tweet.created_at, default=now)
                ticket = tickets.get(tweet.conversation_id)
                if not analysis.inbound:
                    if ticket is not None:
                        record_response(session, ticket, tweet.tweet_id, when)
                        outcome.responses += 1
                    continue
                if ticket is None:
                    if not analysis.needs_ticket:
                        outcome.no_ticket += 1
                        continue
                    ticket = open_ticket(tweet, analysis, when, routing, batch_id, data_version)
                    session.add(ticket)
                    tickets[tweet.conversation_id] = ticket
                    outcome.opened += 1
                    # flush the ticket before the rows that point at it (Postgres checks the FK)
                    session.flush()
                    session.add(
                        draft_for(ticket, analysis, templates, tweet.tweet_id, now, batch_id)
                    )
                else:
                    attach_follow_up(ticket, analysis, when, routing)
                    outcome.attached += 1
                session.add(
                    TicketTweet(
                        tweet_id=tweet.tweet_id, ticket_id=ticket.ticket_id, attached_at=now
                    )
                )
        return outcome

    def tickets_opened_in(self, batch_id: str) -> list[Ticket]:
        """Tickets a batch opened: a replayed batch publishes these again (at-least-once)."""
        with self._sessions() as session:
            query = select(Ticket).where(Ticket.opened_in_batch == batch_id)
            return list(session.scalars(query.order_by(Ticket.created_at, Ticket.ticket_id)))

    def tickets_of(self, conversation_ids: Iterable[str]) -> dict[str, Ticket]:
        """The tickets of these conversations, by conversation id (those that have one)."""
        with self._sessions() as session:
            return _tickets_by_conversation(session, set(conversation_ids))

    def replies_sent_in(self, batch_id: str) -> list[Reply]:
        """Replies a batch drafted that the gate let through (published again on a replay)."""
        with self._sessions() as session:
            query = select(Reply).where(Reply.drafted_in_batch == batch_id, Reply.decision == AUTO)
            return list(session.scalars(query.order_by(Reply.reply_id)))

    def record_batch(
        self, batch_id: str, processed_at: datetime | None = None, **stats: int
    ) -> None:
        """Insert or replace one batch's statistics (`n_messages=...` and the other counters)."""
        unknown = set(stats) - set(BATCH_STAT_FIELDS)
        if unknown:
            raise ValueError(f"unknown batch statistics: {', '.join(sorted(unknown))}")
        values = {name: int(stats.get(name, 0)) for name in BATCH_STAT_FIELDS}
        with self._sessions.begin() as session:
            session.merge(
                StreamBatch(
                    batch_id=batch_id, processed_at=processed_at or datetime.now(UTC), **values
                )
            )

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

    def get_ticket(self, ticket_id: str) -> Ticket:
        """One ticket by id (case-insensitive); a clear error when there is none."""
        with self._sessions() as session:
            ticket = session.get(Ticket, ticket_id.upper()) if self._has_schema() else None
        if ticket is None:
            raise UserError(f"no ticket {ticket_id} in {self.url}")
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

    def close_ticket(self, ticket_id: str) -> Ticket:
        """Close a ticket by hand; a customer tweeting again in the thread reopens it."""
        with self._sessions.begin() as session:
            ticket = session.get(Ticket, ticket_id.upper()) if self._has_schema() else None
            if ticket is None:
                raise UserError(f"no ticket {ticket_id} in {self.url}")
            ticket.status = CLOSED
            ticket.closed_at = datetime.now(UTC)
            return ticket

    def ticket_stats(self, now: datetime | None = None) -> dict[str, Any]:
        """Tickets by status, team, priority and category; first-response times; SLA breaches."""
        now = now or datetime.now(UTC)
        stats: dict[str, Any] = {"tickets": 0, "sla_breached": 0, "responded": 0}
        for name in ("status", "team", "priority", "category"):
            stats[f"by_{name}"] = {}
        stats["replies"] = {}
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

    def list_replies(
        self, decision: str | None = None, limit: int = 50, ticket_id: str | None = None
    ) -> list[Reply]:
        """Drafted replies, oldest first (the order a person works through a queue)."""
        if not self._has_schema():
            return []
        query = select(Reply)
        if decision is not None:
            query = query.where(Reply.decision == decision)
        if ticket_id is not None:
            query = query.where(Reply.ticket_id == ticket_id)
        query = query.order_by(Reply.drafted_at, Reply.reply_id).limit(limit)
        with self._sessions() as session:
            return list(session.scalars(query))

    def decide_reply(self, reply_id: str, approve: bool) -> Reply:
        """A person's decision on a pending reply; deciding twice is refused."""
        with self._sessions.begin() as session:
            reply = session.get(Reply, reply_id.upper()) if self._has_schema() else None
            if reply is None:
                raise UserError(f"no reply {reply_id} in {self.url}")
            if reply.decision != PENDING:
                raise UserError(f"reply {reply.reply_id} is not pending (it is {reply.decision})")
            reply.decision = APPROVED if approve else REJECTED
            reply.decided_at = datetime.now(UTC)
            return reply

    def replies_to_post(self, limit: int = 50) -> list[Reply]:
        """Sendable replies (automatic or approved) not yet posted to X."""
        if not self._has_schema():
            return []
        query = select(Reply).where(Reply.decision.in_(SENDABLE), Reply.posted_at.is_(None))
        with self._sessions() as session:
            return list(
                session.scalars(query.order_by(Reply.drafted_at, Reply.reply_id).limit(limit))
            )

    def mark_posted(self, reply_id: str, posted_tweet_id: str) -> None:
        with self._sessions.begin() as session:
            reply = session.get(Reply, reply_id)
            if reply is None:
                raise UserError(f"no reply {reply_id} in {self.url}")
            reply.posted_at = datetime.now(UTC)
            reply.posted_tweet_id = posted_tweet_id

    def _exists(self) -> bool:
        """False for a SQLite file not yet created: reading must not create an empty one."""
        path = sqlite_file(self.url)
        return path is None or path.exists()

    def _has_schema(self) -> bool:
        if not self._exists() or not inspect(self.engine).has_table(Ticket.__tablename__):
            return False
        self._check_columns()
        return True

    def _check_columns(self) -> None:
        """An older tweetcare's database lacks columns: say so instead of failing in SQL.

        There is no migration yet; the demo starts from a fresh database.
        """
        if self._checked or not self._exists():
            return
        found = inspect(self.engine)
        for table in Base.metadata.sorted_tables:
            if not found.has_table(table.name):
                continue
            have = {column["name"] for column in found.get_columns(table.name)}
            missing = sorted(set(table.columns.keys()) - have)
            if missing:
                raise UserError(
                    f"the ticket database {self.url} was written by an older tweetcare "
                    f"(table {table.name} lacks {', '.join(missing)}): delete it, or point "
                    "TWEETCARE_TICKETS_DB_URL at a new one"
                )
        self._checked = True


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), IN_CLAUSE_CHUNK):
        yield items[start : start + IN_CLAUSE_CHUNK]


def _existing(session: Session, column: InstrumentedAttribute[str], ids: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(sorted(set(ids))):
        found.update(session.scalars(select(column).where(column.in_(chunk))))
    return found


def _tickets_by_conversation(session: Session, conversation_ids: set[str]) -> dict[str, Ticket]:
    found: dict[str, Ticket] = {}
    for chunk in _chunks(sorted(conversation_ids)):
        for ticket in session.scalars(select(Ticket).where(Ticket.conversation_id.in_(chunk))):
            found[ticket.conversation_id] = ticket
    return found


def _tweet_time(created_at: str, default: datetime) -> datetime:
    try:
        return datetime.strptime(created_at, TWCS_DATE_FORMAT).astimezone(UTC)
    except ValueError:
        return default
