"""The ticket store: one open ticket per customer conversation, on any SQLAlchemy URL.

Written by the streaming job and read by the CLI. Every write is keyed (tweet id, conversation,
batch id) so the stream's at-least-once replays change nothing the second time.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    Column,
    Connection,
    Table,
    and_,
    bindparam,
    func,
    inspect,
    or_,
    select,
    text,
)
from sqlalchemy import insert as sa_insert
from sqlalchemy import update as sa_update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tweetcare.backoff import Backoff, retry
from tweetcare.core.errors import UserError
from tweetcare.core.kill_points import TICKETS_AFTER_UPSERT, kill_point
from tweetcare.core.schemas import TWCS_DATE_FORMAT, Analysis, TweetMessage
from tweetcare.tickets import audit
from tweetcare.tickets.engine import IMMEDIATE, make_engine, sqlite_file
from tweetcare.tickets.incidents import Incident, incident_for
from tweetcare.tickets.lifecycle import (
    attach_follow_up,
    draft_for,
    open_ticket,
    raise_for_incident,
    record_response,
)
from tweetcare.tickets.lookup import find_ticket_id
from tweetcare.tickets.models import (
    APPROVED,
    AUTO,
    OPEN,
    POSTED,
    POSTING,
    REFUSED,
    UNCLEAR,
    Base,
    IncidentRecord,
    Reply,
    StreamBatch,
    Ticket,
    TicketResponse,
    TicketTweet,
    incident_scope_key,
    utc,
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
    "incident_alert_id",
)
# who the audit trail names for a priority raise: the stream (a ticket opened or updated in an
# active incident) or the monitor (open tickets already in scope when it records the incident)
STREAM_ACTOR = "stream"
MONITOR_ACTOR = "monitor"
INCIDENT_SCOPE = ("brand", "category", "conversation_id")
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
    # tickets whose priority an active incident raised
    raised: int = 0


@dataclass(frozen=True)
class _ToDraft:
    """A ticket opened in this `apply`, waiting for its number to be drafted a reply; with its
    priority when it opened (a later follow-up in the batch must not change the draft)."""

    ticket: Ticket
    analysis: Analysis
    tweet_id: str
    priority: str


@dataclass(frozen=True)
class IncidentOutcome:
    """What one `record_incidents` did: incidents written, open tickets raised."""

    recorded: int
    raised: int


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
        # here, once, not from the stream's tasks, which append to it concurrently
        audit.create_table(self.engine)

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
        a brand reply in the thread marks it responded. An open ticket in an active incident
        (`record_incidents`) is raised by `priority.incident_raise`, before its reply is drafted.
        A tweet already applied (a replayed batch) is skipped, so nothing changes twice.

        One transaction of a few bulk statements per call, so stream tasks can call it at once
        for their partitions: SQLite queues them on its write lock, Postgres locks the touched
        tickets and upserts. A store that is down (or a lost race on a new ticket) is retried
        with bounded backoff.
        """
        if not events:
            return Outcome()
        outcome = self._retrying(
            lambda: self._apply_once(events, routing, templates, batch_id, data_version),
            "applying tickets",
        )
        kill_point(TICKETS_AFTER_UPSERT)  # fault tests: committed, the stream's messages not sent
        return outcome

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
        with self.writer() as conn:
            # lock the tickets first, then read which tweets they already hold
            tickets = _load_tickets(conn, {e.tweet.conversation_id for e in ordered})
            existing = set(tickets)
            seen = _existing(conn, TicketTweet.__table__.c.tweet_id, ids)
            seen |= _existing(conn, TicketResponse.__table__.c.tweet_id, ids)
            # one small query per call, and none while the rule is off
            incidents = _active_incidents(conn, now) if routing.priority.incident_raise else []
            changed: set[str] = set()
            attached: list[dict[str, Any]] = []
            responses: list[dict[str, Any]] = []
            to_draft: list[_ToDraft] = []
            raised: list[dict[str, Any]] = []
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
                    ticket = open_ticket(
                        tweet, analysis, when, routing, batch_id, data_version, opened_at=now
                    )
                    tickets[tweet.conversation_id] = ticket
                    outcome.opened += 1
                    raised += _raise_in_incident(ticket, incidents, routing, now, STREAM_ACTOR)
                    # drafted once the database has numbered the ticket (the reply names it)
                    to_draft.append(_ToDraft(ticket, analysis, tweet.tweet_id, ticket.priority))
                else:
                    attach_follow_up(ticket, analysis, when, routing)
                    raised += _raise_in_incident(ticket, incidents, routing, now, STREAM_ACTOR)
                    changed.add(tweet.conversation_id)
                    outcome.attached += 1
                attached.append(
                    {"tweet_id": tweet.tweet_id, "ticket_id": ticket.ticket_id, "attached_at": now}
                )
            opened = [_new_ticket_row(t) for c, t in tickets.items() if c not in existing]
            updated = [_row(tickets[c]) for c in sorted(changed & existing)]
            self._write_tickets(conn, opened, updated)
            replies = _drafts(conn, to_draft, templates, now, batch_id)
            self._write_rows(conn, attached, responses, replies)
            audit.append(conn, raised)
        outcome.raised = len(raised)
        return outcome

    def _write_tickets(
        self, conn: Connection, opened: list[dict[str, Any]], updated: list[dict[str, Any]]
    ) -> None:
        """The tickets of one `apply`, before the rows that point at them; the database numbers
        the new ones as it inserts them."""
        tickets = Ticket.__table__
        if opened:
            insert = self._insert(tickets).returning(tickets.c.ticket_id)
            inserted = conn.execute(insert, opened).scalars().all()
            if len(inserted) != len(opened):
                # another task opened one of these tickets since we looked: start over
                raise ConcurrentWrite("a ticket was opened by another writer at the same time")
        if updated:
            _update_tickets(conn, updated)

    def _write_rows(
        self,
        conn: Connection,
        attached: list[dict[str, Any]],
        responses: list[dict[str, Any]],
        replies: list[dict[str, Any]],
    ) -> None:
        """The rows of one `apply` that point at its tickets, in bulk."""
        for table, rows in (
            (TicketTweet.__table__, attached),
            (TicketResponse.__table__, responses),
            (Reply.__table__, replies),
        ):
            if rows:
                conn.execute(self._insert(table), rows)

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
                for i in _active_incidents(conn, now)
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
            raised = _raise_in_incident(ticket, incidents, routing, now, MONITOR_ACTOR)
            if raised:
                updated.append(_row(ticket))
                entries += raised
        if updated:
            _update_tickets(conn, updated)
            audit.append(conn, entries)
        return len(updated)

    def active_incidents(self, now: datetime | None = None) -> list[Incident]:
        """Incidents still active at `now` (default: now), the most recently seen first."""
        if not self._has_schema() or not inspect(self.engine).has_table(
            IncidentRecord.__tablename__
        ):
            return []
        with self.engine.connect() as conn:
            return _active_incidents(conn, utc(now or datetime.now(UTC)))

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

    def _insert(self, table: Table) -> Any:
        """INSERT that skips rows whose key is already there (the replay of a batch)."""
        dialect = self.engine.dialect.name
        if dialect == "postgresql":
            return postgresql_insert(table).on_conflict_do_nothing()
        if dialect == "sqlite":
            return sqlite_insert(table).on_conflict_do_nothing()
        return sa_insert(table)  # other databases: the rows were checked under the lock

    @contextmanager
    def writer(self) -> Iterator[Connection]:
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

    def replies_to_post(self, limit: int = 50) -> list[Reply]:
        """Replies cleared to post (by the gate or a person) and not handed to X yet."""
        return self.list_replies(limit=limit, states=[APPROVED])

    def claim_for_posting(self, reply_id: str, run_id: str, lease: timedelta) -> Reply | None:
        """approved -> posting under `run_id`'s lease, committed before X is called; None if it
        is not approved (any more): one conditional UPDATE, so two runs never both claim it."""
        until = datetime.now(UTC) + lease
        values = {"lease_owner": run_id, "lease_expires_at": until}
        return self._move(reply_id, {APPROVED}, POSTING, values)

    def mark_posted(self, reply_id: str, posted_tweet_id: str, run_id: str) -> None:
        """posting (or unclear) -> posted, with the tweet X made; only by the run that claimed
        it (a run whose lease ran out still records what X answered it)."""
        values = {"posted_at": datetime.now(UTC), "posted_tweet_id": posted_tweet_id}
        moved = self._move(reply_id, {POSTING, UNCLEAR}, POSTED, values | _ended(), run_id)
        if moved is None:
            raise UserError(f"reply {reply_id} is not being posted by run {run_id}")

    def refuse(self, reply_id: str, run_id: str, reason: str) -> Reply | None:
        """posting -> refused: X refused it (4xx), nothing was posted; it waits for a person
        with X's reason, and the run goes on with the next reply."""
        return self._move(reply_id, {POSTING}, REFUSED, {"refusal": reason} | _ended(), run_id)

    def release(self, reply_id: str, run_id: str) -> None:
        """posting -> approved: nothing was posted and the reply is not at fault (the
        credentials were refused, X asked us to slow down), so a later run posts it."""
        self._move(reply_id, {POSTING}, APPROVED, _ended(), run_id)

    def mark_unclear(self, run_id: str, reply_id: str | None = None) -> list[Reply]:
        """posting -> unclear: replies that may be on X or not wait for a person (`replies
        pending`) and are never posted again on their own. Only `reply_id` when given (X failed
        while this run posted it); else every reply whose lease expired (its run died) or that
        `run_id` holds. A reply another live run is posting is left to that run."""
        if not self._has_schema():
            return []
        table = Reply.__table__
        now = datetime.now(UTC)
        owned = table.c.lease_owner == run_id
        if reply_id is None:
            expired = or_(table.c.lease_expires_at.is_(None), table.c.lease_expires_at <= now)
            which = or_(owned, expired)
        else:
            which = and_(owned, table.c.reply_id == reply_id)
        with self.engine.begin() as conn:
            ids = conn.scalars(
                select(table.c.reply_id).where(table.c.state == POSTING, which).with_for_update()
            ).all()
            moved = [r for r in ids if self._set_state(conn, r, {POSTING}, UNCLEAR, _ended())]
        with self._sessions() as session:
            return [r for r in (session.get(Reply, i) for i in moved) if r is not None]

    def _move(
        self,
        reply_id: str,
        sources: set[str],
        target: str,
        values: dict[str, Any],
        run_id: str | None = None,
    ) -> Reply | None:
        """One reply from one of `sources` to `target` (and `run_id`'s, when given),
        atomically: compare and set, its version bumped."""
        with self.engine.begin() as conn:
            if not self._set_state(conn, reply_id, sources, target, values, run_id):
                return None
        with self._sessions() as session:
            return session.get(Reply, reply_id)

    @staticmethod
    def _set_state(
        conn: Connection,
        reply_id: str,
        sources: set[str],
        target: str,
        values: dict[str, Any],
        run_id: str | None = None,
    ) -> bool:
        table = Reply.__table__
        where = [table.c.reply_id == reply_id, table.c.state.in_(sorted(sources))]
        if run_id is not None:
            where.append(table.c.lease_owner == run_id)
        done = conn.execute(
            sa_update(table)
            .where(*where)
            .values(values | {"state": target, "version": table.c.version + 1})
        )
        return done.rowcount == 1

    def _exists(self) -> bool:
        """False for a SQLite file not yet created: reading must not create an empty one."""
        path = sqlite_file(self.url)
        return path is None or path.exists()

    def has_schema(self) -> bool:
        """Whether the database holds the ticket tables yet (readers must not create them)."""
        return self._has_schema()

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


def _ended() -> dict[str, Any]:
    """A lease given up: the run is done with the reply, whatever became of it."""
    return {"lease_expires_at": datetime.now(UTC)}


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


def _update_tickets(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """One executemany UPDATE of the mutable columns of these tickets; each one's version moves
    on, so an agent who loaded it before (a follow-up, a raise) is told to reload."""
    tickets = Ticket.__table__
    keys = [c for c in TICKET_MUTABLE if c in rows[0]]
    update = (
        sa_update(tickets)
        .where(tickets.c.ticket_id == bindparam("b_ticket_id"))
        .values({key: bindparam(f"b_{key}") for key in keys} | {"version": tickets.c.version + 1})
    )
    conn.execute(update, [{f"b_{k}": row[k] for k in ("ticket_id", *keys)} for row in rows])


def _active_incidents(conn: Connection, now: datetime) -> list[Incident]:
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


def _raise_in_incident(
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


def _new_ticket_row(ticket: Ticket) -> dict[str, Any]:
    """A new ticket's row without its number: the database gives it (a sequence's default on
    Postgres, a trigger on SQLite), and an explicit NULL would stop Postgres' default."""
    row = _row(ticket)
    if row["ticket_number"] is None:
        del row["ticket_number"]
    return row


def _drafts(
    conn: Connection,
    opened: Sequence[_ToDraft],
    templates: ReplyTemplates,
    now: datetime,
    batch_id: str | None,
) -> list[dict[str, Any]]:
    """The replies of the tickets just written, each naming the number the database gave it."""
    table = Ticket.__table__
    numbers: dict[str, int] = {}
    for chunk in _chunks([o.ticket.ticket_id for o in opened]):
        query = select(table.c.ticket_id, table.c.ticket_number).where(table.c.ticket_id.in_(chunk))
        numbers.update({ticket_id: number for ticket_id, number in conn.execute(query)})
    rows = []
    for o in opened:
        o.ticket.ticket_number = numbers[o.ticket.ticket_id]
        draft = draft_for(o.ticket, o.analysis, templates, o.tweet_id, now, batch_id, o.priority)
        rows.append(_row(draft))
    return rows


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
