"""What the stream writes to the ticket store: analysed tweets opening, attaching to and
answering tickets (with their drafted replies), and each batch's statistics.

Every write is keyed (tweet id, conversation, batch id) so the stream's at-least-once replays
change nothing the second time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from tweetcare.core.kill_points import TICKETS_AFTER_UPSERT, kill_point
from tweetcare.core.schemas import Analysis, TweetMessage, parse_twcs_time
from tweetcare.tickets import audit
from tweetcare.tickets.bulk import chunks, ids_present, row_of, update_tickets
from tweetcare.tickets.database import ConcurrentWrite, TicketDatabase
from tweetcare.tickets.incident_records import (
    STREAM_ACTOR,
    raise_in_incident,
    read_active_incidents,
)
from tweetcare.tickets.lifecycle import attach_follow_up, draft_for, open_ticket, record_response
from tweetcare.tickets.models import AUTO, Reply, StreamBatch, Ticket, TicketResponse, TicketTweet
from tweetcare.tickets.replies import ReplyTemplates
from tweetcare.tickets.routing import RoutingRules

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


class StreamWrites(TicketDatabase):
    """The stream's writes: tickets from analysed tweets, batch statistics, and what a replayed
    batch publishes again."""

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
            seen = ids_present(conn, TicketTweet.__table__.c.tweet_id, ids)
            seen |= ids_present(conn, TicketResponse.__table__.c.tweet_id, ids)
            # one small query per call, and none while the rule is off
            incidents = read_active_incidents(conn, now) if routing.priority.incident_raise else []
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
                    raised += raise_in_incident(ticket, incidents, routing, now, STREAM_ACTOR)
                    # drafted once the database has numbered the ticket (the reply names it)
                    to_draft.append(_ToDraft(ticket, analysis, tweet.tweet_id, ticket.priority))
                else:
                    attach_follow_up(ticket, analysis, when, routing)
                    raised += raise_in_incident(ticket, incidents, routing, now, STREAM_ACTOR)
                    changed.add(tweet.conversation_id)
                    outcome.attached += 1
                attached.append(
                    {"tweet_id": tweet.tweet_id, "ticket_id": ticket.ticket_id, "attached_at": now}
                )
            opened = [_new_ticket_row(t) for c, t in tickets.items() if c not in existing]
            updated = [row_of(tickets[c]) for c in sorted(changed & existing)]
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
            update_tickets(conn, updated)

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

    def tickets_opened_in(self, batch_id: str) -> list[Ticket]:
        """Tickets a batch opened: a replayed batch publishes these again (at-least-once)."""
        with self._sessions() as session:
            query = select(Ticket).where(Ticket.opened_in_batch == batch_id)
            return list(session.scalars(query.order_by(Ticket.created_at, Ticket.ticket_id)))

    def replies_sent_in(self, batch_id: str) -> list[Reply]:
        """Replies a batch drafted that the gate let through (published again on a replay)."""
        with self._sessions() as session:
            query = select(Reply).where(Reply.drafted_in_batch == batch_id, Reply.decision == AUTO)
            return list(session.scalars(query.order_by(Reply.reply_id)))


def _load_tickets(conn: Connection, conversation_ids: set[str]) -> dict[str, Ticket]:
    """These conversations' tickets as detached objects, locked (FOR UPDATE) until commit."""
    table = Ticket.__table__
    found: dict[str, Ticket] = {}
    for chunk in chunks(sorted(conversation_ids)):
        query = select(table).where(table.c.conversation_id.in_(chunk)).with_for_update()
        for row in conn.execute(query).mappings():
            found[row["conversation_id"]] = Ticket(**row)
    return found


def _new_ticket_row(ticket: Ticket) -> dict[str, Any]:
    """A new ticket's row without its number: the database gives it (a sequence's default on
    Postgres, a trigger on SQLite), and an explicit NULL would stop Postgres' default."""
    row = row_of(ticket)
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
    for chunk in chunks([o.ticket.ticket_id for o in opened]):
        query = select(table.c.ticket_id, table.c.ticket_number).where(table.c.ticket_id.in_(chunk))
        numbers.update({ticket_id: number for ticket_id, number in conn.execute(query)})
    rows = []
    for o in opened:
        o.ticket.ticket_number = numbers[o.ticket.ticket_id]
        draft = draft_for(o.ticket, o.analysis, templates, o.tweet_id, now, batch_id, o.priority)
        rows.append(row_of(draft))
    return rows


def _tweet_time(created_at: str, default: datetime) -> datetime:
    return parse_twcs_time(created_at) or default
