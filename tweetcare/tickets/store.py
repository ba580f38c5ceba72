"""The ticket store: one open ticket per customer conversation, on any SQLAlchemy URL.

Written by the streaming job and read by the CLI. Every write is keyed (tweet id, conversation,
batch id) so the stream's at-least-once replays change nothing the second time.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Column, Connection, Table, bindparam, func, inspect, select
from sqlalchemy import insert as sa_insert
from sqlalchemy import update as sa_update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tweetcare.backoff import Backoff, retry
from tweetcare.core.errors import UserError
from tweetcare.core.schemas import TWCS_DATE_FORMAT, Analysis, TweetMessage
from tweetcare.tickets.engine import IMMEDIATE, make_engine, sqlite_file
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
    DECIDABLE,
    POSTED,
    POSTING,
    REJECTED,
    UNCLEAR,
    Base,
    Reply,
    StreamBatch,
    Ticket,
    TicketResponse,
    TicketTweet,
)
from tweetcare.tickets.replies import ReplyTemplates
from tweetcare.tickets.routing import RoutingRules

T = TypeVar("T")

# ids per IN (...) clause: well under SQLite's and Postgres' parameter limits
IN_CLAUSE_CHUNK = 500
# how long the stream waits out a ticket store that is down or locked before it gives up
STORE_OUTAGE = Backoff(total_s=300.0, first_s=0.5, max_s=15.0)
# what a follow-up, a brand reply or a reopening may change in an existing ticket
TICKET_MUTABLE = (
    "tweet_count",
    "updated_at",
    "entities",
    "status",
    "closed_at",
    "priority",
    "sla_due_at",
    "first_response_at",
    "first_response_seconds",
    "first_response_tweet_id",
)
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


class ConcurrentWrite(RuntimeError):
    """Another writer opened the same ticket between our read and our write; retried."""


@dataclass
class Outcome:
    """What one `apply` did, tweet by tweet."""

    opened: int = 0
    attached: int = 0
    responses: int = 0
    no_ticket: int = 0


class TicketStore:
    """Tickets, the tweets attached to them and per-batch stream statistics."""

    def __init__(self, url: str, backoff: Backoff = STORE_OUTAGE) -> None:
        self.url = url
        self.backoff = backoff
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._checked = False

    def create_schema(self) -> None:
        """Create the schema, or migrate an older one to the latest revision (Alembic)."""
        from tweetcare.tickets.migrations import upgrade_schema

        try:
            upgrade_schema(self.url)
        except DBAPIError as err:
            # tables the migrations cannot take: name what they lack, else say what failed
            self._check_columns()
            reason = str(err.orig).splitlines()[0] if err.orig else str(err)
            raise UserError(
                f"the ticket database {self.url} could not be migrated ({reason}): point "
                "TWEETCARE_TICKETS_DB_URL at a new database, or delete this one"
            ) from err
        self._check_columns()

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

        One transaction of a few bulk statements per call, so stream tasks can call it at once
        for their partitions: SQLite queues them on its write lock, Postgres locks the touched
        tickets and upserts. A store that is down (or a lost race on a new ticket) is retried
        with bounded backoff.
        """
        if not events:
            return Outcome()
        return self._retrying(
            lambda: self._apply_once(events, routing, templates, batch_id, data_version),
            "applying tickets",
        )

    def _apply_once(
        self,
        events: Sequence[TicketEvent],
        routing: RoutingRules,
        templates: ReplyTemplates,
        batch_id: str | None,
        data_version: str | None,
    ) -> Outcome:
        now = datetime.now(UTC)
        outcome = Outcome()
        ordered = sorted(events, key=lambda e: _tweet_time(e.tweet.created_at, default=now))
        ids = [e.tweet.tweet_id for e in ordered]
        with self._writer() as conn:
            # lock the tickets first, then read which tweets they already hold
            tickets = _load_tickets(conn, {e.tweet.conversation_id for e in ordered})
            existing = set(tickets)
            seen = _existing(conn, TicketTweet.__table__.c.tweet_id, ids)
            seen |= _existing(conn, TicketResponse.__table__.c.tweet_id, ids)
            changed: set[str] = set()
            attached: list[dict[str, Any]] = []
            responses: list[dict[str, Any]] = []
            replies: list[dict[str, Any]] = []
            for event in ordered:
                tweet, analysis = event.tweet, event.analysis
                if tweet.tweet_id in seen:
                    continue
                seen.add(tweet.tweet_id)
                when = _tweet_time(tweet.created_at, default=now)
                ticket = tickets.get(tweet.conversation_id)
                if not analysis.inbound:
                    if ticket is not None:
                        record_response(ticket, tweet.tweet_id, when)
                        changed.add(tweet.conversation_id)
                        responses.append(
                            {"tweet_id": tweet.tweet_id, "ticket_id": ticket.ticket_id}
                            | {"responded_at": when}
                        )
                        outcome.responses += 1
                    continue
                if ticket is None:
                    if not analysis.needs_ticket:
                        outcome.no_ticket += 1
                        continue
                    ticket = open_ticket(tweet, analysis, when, routing, batch_id, data_version)
                    tickets[tweet.conversation_id] = ticket
                    outcome.opened += 1
                    draft = draft_for(ticket, analysis, templates, tweet.tweet_id, now, batch_id)
                    replies.append(_row(draft))
                else:
                    attach_follow_up(ticket, analysis, when, routing)
                    changed.add(tweet.conversation_id)
                    outcome.attached += 1
                attached.append(
                    {"tweet_id": tweet.tweet_id, "ticket_id": ticket.ticket_id, "attached_at": now}
                )
            opened = [_row(t) for c, t in tickets.items() if c not in existing]
            updated = [_row(tickets[c]) for c in sorted(changed & existing)]
            self._write_apply(conn, opened, updated, attached, responses, replies)
        return outcome

    def _write_apply(
        self,
        conn: Connection,
        opened: list[dict[str, Any]],
        updated: list[dict[str, Any]],
        attached: list[dict[str, Any]],
        responses: list[dict[str, Any]],
        replies: list[dict[str, Any]],
    ) -> None:
        """The bulk statements of one `apply`, parents before the rows that point at them."""
        tickets = Ticket.__table__
        if opened:
            insert = self._insert(tickets).returning(tickets.c.ticket_id)
            inserted = conn.execute(insert, opened).scalars().all()
            if len(inserted) != len(opened):
                # another task opened one of these tickets since we looked: start over
                raise ConcurrentWrite("a ticket was opened by another writer at the same time")
        if updated:
            keys = [c for c in TICKET_MUTABLE if c in updated[0]]
            update = (
                sa_update(tickets)
                .where(tickets.c.ticket_id == bindparam("b_ticket_id"))
                .values({key: bindparam(f"b_{key}") for key in keys})
            )
            conn.execute(
                update, [{f"b_{k}": row[k] for k in ("ticket_id", *keys)} for row in updated]
            )
        for table, rows in (
            (TicketTweet.__table__, attached),
            (TicketResponse.__table__, responses),
            (Reply.__table__, replies),
        ):
            if rows:
                conn.execute(self._insert(table), rows)

    def _insert(self, table: Table) -> Any:
        """INSERT that skips rows whose key is already there (the replay of a batch)."""
        dialect = self.engine.dialect.name
        if dialect == "postgresql":
            return postgresql_insert(table).on_conflict_do_nothing()
        if dialect == "sqlite":
            return sqlite_insert(table).on_conflict_do_nothing()
        return sa_insert(table)  # other databases: the rows were checked under the lock

    @contextmanager
    def _writer(self) -> Iterator[Connection]:
        """One write transaction (holding SQLite's write lock from its start)."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(**{IMMEDIATE: True})
            with conn.begin():
                yield conn

    def _retrying(self, action: Callable[[], T], what: str) -> T:
        """Wait out a store that is down or busy (bounded, logged), then go on."""
        where = make_url(self.url).render_as_string(hide_password=True)
        return retry(action, _transient, self.backoff, f"ticket store {where} ({what})")

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
        row = StreamBatch(
            batch_id=batch_id, processed_at=processed_at or datetime.now(UTC), **values
        )

        def merge() -> None:
            with self._sessions.begin() as session:
                session.merge(row)

        self._retrying(merge, "recording a batch")

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

    def list_replies(
        self,
        decision: str | None = None,
        limit: int = 50,
        ticket_id: str | None = None,
        states: Sequence[str] | None = None,
    ) -> list[Reply]:
        """Drafted replies, oldest first (the order a person works through a queue)."""
        if not self._has_schema():
            return []
        query = select(Reply)
        if decision is not None:
            query = query.where(Reply.decision == decision)
        if ticket_id is not None:
            query = query.where(Reply.ticket_id == ticket_id)
        if states is not None:
            query = query.where(Reply.state.in_(states))
        query = query.order_by(Reply.drafted_at, Reply.reply_id).limit(limit)
        with self._sessions() as session:
            return list(session.scalars(query))

    def decide_reply(self, reply_id: str, approve: bool) -> Reply:
        """A person's decision on a held reply, or on one whose posting is unclear.

        Approving an unclear reply says it is not on X (it goes back to be posted); rejecting
        it says it must not be posted again. Any other state is refused.
        """
        with self._sessions.begin() as session:
            reply = session.get(Reply, reply_id.upper()) if self._has_schema() else None
            if reply is None:
                raise UserError(f"no reply {reply_id} in {self.url}")
            if reply.state not in DECIDABLE:
                raise UserError(f"reply {reply.reply_id} is not pending (it is {reply.state})")
            reply.decision = APPROVED if approve else REJECTED
            reply.state = APPROVED if approve else REJECTED
            reply.decided_at = datetime.now(UTC)
            return reply

    def replies_to_post(self, limit: int = 50) -> list[Reply]:
        """Replies cleared to post (by the gate or a person) and not handed to X yet."""
        return self.list_replies(limit=limit, states=[APPROVED])

    def claim_for_posting(self, reply_id: str) -> Reply | None:
        """approved -> posting, committed before X is called; None if it is not approved (any
        more), so two runs never post the same reply."""
        return self._move(reply_id, {APPROVED}, POSTING)

    def mark_posted(self, reply_id: str, posted_tweet_id: str) -> None:
        """posting (or unclear) -> posted, with the tweet X made."""
        moved = self._move(reply_id, {POSTING, UNCLEAR}, POSTED, posted_tweet_id=posted_tweet_id)
        if moved is None:
            raise UserError(f"reply {reply_id} is not being posted")

    def release(self, reply_id: str) -> None:
        """posting -> approved: X refused it for certain (nothing was posted), so it may retry."""
        self._move(reply_id, {POSTING}, APPROVED)

    def mark_unclear(self) -> list[Reply]:
        """Replies left in `posting` by a run that did not finish: they may be on X or not, so
        they wait for a person (`replies pending`) and are never posted again on their own."""
        if not self._has_schema():
            return []
        with self._sessions.begin() as session:
            stuck = list(session.scalars(select(Reply).where(Reply.state == POSTING)))
            for reply in stuck:
                reply.state = UNCLEAR
            return stuck

    def _move(
        self, reply_id: str, sources: set[str], target: str, posted_tweet_id: str | None = None
    ) -> Reply | None:
        """One reply from one of `sources` to `target`, atomically (compare and set)."""
        values: dict[str, Any] = {"state": target}
        if target == POSTED:
            values |= {"posted_at": datetime.now(UTC), "posted_tweet_id": posted_tweet_id}
        table = Reply.__table__
        with self.engine.begin() as conn:
            done = conn.execute(
                sa_update(table)
                .where(table.c.reply_id == reply_id, table.c.state.in_(sorted(sources)))
                .values(values)
            )
            if done.rowcount != 1:
                return None
        with self._sessions() as session:
            return session.get(Reply, reply_id)

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
        """A database the migrations do not know (tables from elsewhere) lacks columns: say so
        instead of failing in SQL."""
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


def _existing(conn: Connection, column: Column[str], ids: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(sorted(set(ids))):
        found.update(conn.scalars(select(column).where(column.in_(chunk))))
    return found


def _load_tickets(conn: Connection, conversation_ids: set[str]) -> dict[str, Ticket]:
    """These conversations' tickets as detached objects, locked (FOR UPDATE) until commit."""
    table = Ticket.__table__
    found: dict[str, Ticket] = {}
    for chunk in _chunks(sorted(conversation_ids)):
        query = select(table).where(table.c.conversation_id.in_(chunk)).with_for_update()
        for row in conn.execute(query).mappings():
            found[row["conversation_id"]] = Ticket(**row)
    return found


def _tickets_by_conversation(session: Session, conversation_ids: set[str]) -> dict[str, Ticket]:
    found: dict[str, Ticket] = {}
    for chunk in _chunks(sorted(conversation_ids)):
        for ticket in session.scalars(select(Ticket).where(Ticket.conversation_id.in_(chunk))):
            found[ticket.conversation_id] = ticket
    return found


def _row(obj: Base) -> dict[str, Any]:
    """An ORM object's column values, for a bulk statement."""
    return {column.key: getattr(obj, column.key) for column in obj.__table__.columns}


def _transient(err: Exception) -> bool:
    """Worth waiting for: the database is down, restarting, locked, or we lost a race."""
    if isinstance(err, ConcurrentWrite | OperationalError):
        return True
    return isinstance(err, DBAPIError) and err.connection_invalidated


def _tweet_time(created_at: str, default: datetime) -> datetime:
    try:
        return datetime.strptime(created_at, TWCS_DATE_FORMAT).astimezone(UTC)
    except ValueError:
        return default
