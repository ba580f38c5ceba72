"""The ticket tables, as SQLAlchemy 2 ORM classes portable across SQLite and Postgres.

Each table has a natural key (conversation, tweet, stream batch) so that a micro-batch the
stream replays after a crash finds its rows already there instead of adding them twice.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, FetchedValue, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tweetcare.core.schemas import HANDLE_MAX_CHARS

TICKET_ID_PREFIX = "TC-"
REPLY_ID_PREFIX = "RE-"
# a ticket id is the full 128-bit uuid5 of the conversation id, in hex: no truncation, so two
# conversations never share a ticket however many there are
TICKET_ID_DIGITS = 32
_TICKET_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://tweetcare/conversations")
# the ticket number people see (replies, console, CLI): `#` and the store's own counter (a
# sequence on Postgres, a trigger under SQLite's write lock; migration 0007); the long id above
# stays internal
TICKET_NUMBER_MARK = "#"
# the largest number the column holds (a 32-bit INTEGER on both databases)
TICKET_NUMBER_MAX = 2**31 - 1

# ticket status: waiting on the brand, answered by the brand, closed by an agent
OPEN = "open"
RESPONDED = "responded"
CLOSED = "closed"
TICKET_STATUSES: tuple[str, ...] = (OPEN, RESPONDED, CLOSED)

# reply decision: sent by the safety gate, waiting for a person, or decided by one
AUTO = "auto"
PENDING = "pending"
APPROVED = "approved"
REJECTED = "rejected"
SENDABLE: tuple[str, ...] = (AUTO, APPROVED)

# where a reply is in the outbox. drafted: waits for a person; approved: cleared to post (by the
# gate or a person); posting: handed to X by a run holding its lease, outcome not yet recorded;
# posted: X has it; rejected: never to be posted; unclear: its run died or X failed while posting
# it, so it may or may not be on X: a person looks before anything is posted again; refused: X
# answered 4xx (nothing was posted), its reason kept for a person to edit, approve or reject
DRAFTED = "drafted"
POSTING = "posting"
POSTED = "posted"
UNCLEAR = "unclear"
REFUSED = "refused"
REPLY_STATES: tuple[str, ...] = (DRAFTED, APPROVED, POSTING, POSTED, REJECTED, UNCLEAR, REFUSED)
# states a person may decide (approve or reject)
DECIDABLE: tuple[str, ...] = (DRAFTED, UNCLEAR, REFUSED)
# states whose text a person may still change (an unclear reply may be on X as it is)
EDITABLE: tuple[str, ...] = (DRAFTED, REFUSED)
# the version of a row nobody has changed yet; every change adds one (compare-and-set)
FIRST_VERSION = 1

_HANDLE = re.compile(r"@(\w+)")


class Base(DeclarativeBase):
    pass


class Ticket(Base):
    """One customer conversation that needs a reply, with what the models read in it."""

    __tablename__ = "tickets"

    ticket_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    brand: Mapped[str | None] = mapped_column(String(64), index=True)
    category: Mapped[str] = mapped_column(String(32), index=True)
    category_confidence: Mapped[float | None] = mapped_column(Float)
    team: Mapped[str] = mapped_column(String(64), index=True)
    priority: Mapped[str] = mapped_column(String(16), index=True)
    sentiment: Mapped[str | None] = mapped_column(String(16))
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    # [{"start", "end", "label", "text"}], phone numbers and emails already masked
    entities: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=OPEN, index=True)
    # the agent the ticket is given to (`tickets assign`); None: whoever takes it from the queue
    assignee: Mapped[str | None] = mapped_column(String(64))
    # the short number people use (`#10482`), given by the database when the row is inserted,
    # so it is sequential per store and unique whoever writes at once
    ticket_number: Mapped[int | None] = mapped_column(
        Integer, unique=True, server_default=FetchedValue()
    )
    # the opening tweet with phone numbers and emails masked
    text: Mapped[str] = mapped_column(Text)
    first_tweet_id: Mapped[str] = mapped_column(String(64))
    tweet_count: Mapped[int] = mapped_column(Integer, default=1)
    # when the customer tweeted (the tweet's own created_at: years ago for replayed history)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # when the stream opened it: the SLA clock and the age an agent sees run from here, as a
    # helpdesk's do, so replayed history is not all overdue by years
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # opened_at + the priority's SLA (routing.yaml)
    sla_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_response_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_response_seconds: Mapped[float | None] = mapped_column(Float)
    first_response_tweet_id: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # lineage: registered model name -> "version (run id)", and the training data's version
    models: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    data_version: Mapped[str | None] = mapped_column(String(64))
    # the stream batch that opened it, so a replayed batch can publish its tickets again
    opened_in_batch: Mapped[str | None] = mapped_column(String(64), index=True)
    # the escalation alert whose active incident raised the priority (routing.yaml's
    # priority.incident_raise), so an agent sees why; set once, a ticket is raised once
    incident_alert_id: Mapped[str | None] = mapped_column(String(64))
    # bumped by every change (agent, stream, monitor): an agent's action names the version they
    # saw and is refused if it moved
    version: Mapped[int] = mapped_column(Integer, default=FIRST_VERSION, server_default="1")

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (timestamps as ISO 8601), for the `tickets` topic and the CLI."""
        return _json_ready(self)

    @property
    def reference(self) -> str:
        """What people call it: its number (`#10482`); the long id only before it has one."""
        return ticket_reference(self.ticket_number) if self.ticket_number else self.ticket_id

    def sla_breached(self, now: datetime) -> bool:
        """Answered later than its SLA allows (the customer's wait, in the tweets' own time),
        or still unanswered past the due time (on the store's clock, from `opened_at`)."""
        due = utc(self.sla_due_at)
        if self.first_response_seconds is not None:
            allowed = (due - utc(self.opened_at)).total_seconds()
            return self.first_response_seconds > allowed
        return now > due


class TicketTweet(Base):
    """A customer tweet already counted in a ticket: its key makes attaching it twice a no-op."""

    __tablename__ = "ticket_tweets"

    tweet_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.ticket_id"), index=True)
    attached_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TicketResponse(Base):
    """A brand reply seen in a ticket's thread: its key makes counting it twice a no-op."""

    __tablename__ = "ticket_responses"

    tweet_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.ticket_id"), index=True)
    responded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Reply(Base):
    """The drafted acknowledgement of a ticket and what the safety gate (or a person) decided."""

    __tablename__ = "replies"

    reply_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.ticket_id"), unique=True)
    conversation_id: Mapped[str] = mapped_column(String(64))
    in_reply_to_tweet_id: Mapped[str] = mapped_column(String(64))
    brand: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    # who cleared it: the gate (auto), nobody yet (pending), or a person (approved, rejected)
    decision: Mapped[str] = mapped_column(String(16), index=True)
    # where it is in the outbox (REPLY_STATES)
    state: Mapped[str] = mapped_column(String(16), index=True, default=DRAFTED)
    # why the gate held it (empty for an automatic reply)
    gate_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    drafted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    posted_tweet_id: Mapped[str | None] = mapped_column(String(64))
    drafted_in_batch: Mapped[str | None] = mapped_column(String(64), index=True)
    # bumped by every change, like Ticket.version
    version: Mapped[int] = mapped_column(Integer, default=FIRST_VERSION, server_default="1")
    # the post run that holds it in `posting`, and until when: a later run takes over only a
    # lease that expired (its run died), never one a live run holds
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # why X refused it (state `refused`), shown to the agents
    refusal: Mapped[str | None] = mapped_column(Text)

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, for the `replies` topic and the CLI."""
        return _json_ready(self)


class IncidentRecord(Base):
    """An escalation incident the monitor saw, one row per scope (kind, brand, category,
    conversation; null = any) and the window it started in: the stream raises the tickets it
    covers until `expires_at`, and a later spike in the scope after that is a row of its own."""

    __tablename__ = "incidents"

    # the scope and the end of the incident's first window (`<scope>@<UTC time>`); rows recorded
    # before incidents had windows in their key hold the scope alone
    scope_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    brand: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(32))
    conversation_id: Mapped[str | None] = mapped_column(String(64))
    # the latest escalation alert of this scope (the `alerts` topic's key)
    alert_id: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # the end of the latest alert's window; active until last_seen + monitor.escalation.incident_ttl
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


# what an agent may correct: a model's answer about the ticket's opening tweet, or its reply;
# a Label queue label also says whether the tweet needs a ticket
CORRECTABLE: tuple[str, ...] = ("inbound", "category", "sentiment", "reply", "needs_ticket")
# a correction's `after` for a reply an agent marked as wrong
REPLY_WRONG = "wrong"
# where a correction was made: on a ticket (Queues, `tweetcare tickets correct`) or in the
# console's Label queue, which offers any customer tweet the models are unsure of
TICKET_SOURCE = "ticket"
QUEUE_SOURCE = "queue"


class Correction(Base):
    """An agent's fix of what a model said about a ticket's opening tweet (or a mark on its
    drafted reply): the labels `tweetcare data corrections export` hands to training. A Label
    queue label is kept here too, one row per answer (`tweetcare data labels export`)."""

    __tablename__ = "corrections"

    correction_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # empty for a queue label: the tweet may have opened no ticket (`source` says which)
    ticket_id: Mapped[str | None] = mapped_column(ForeignKey("tickets.ticket_id"), index=True)
    tweet_id: Mapped[str] = mapped_column(String(64), index=True)
    field: Mapped[str] = mapped_column(String(16))
    before: Mapped[str | None] = mapped_column(String(64))
    after: Mapped[str] = mapped_column(String(64))
    agent: Mapped[str] = mapped_column(String(128))
    corrected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(
        String(16), default=TICKET_SOURCE, server_default=TICKET_SOURCE
    )
    # a queue label's tweet as the agent saw it (a ticket's correction reads its ticket's)
    conversation_id: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(Text)

    def to_dict(self) -> dict[str, Any]:
        return _json_ready(self)


class StreamBatch(Base):
    """What one stream micro-batch did; `batch_id` is `<stream id>-<spark batch number>`."""

    __tablename__ = "stream_batches"

    batch_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    n_messages: Mapped[int] = mapped_column(Integer)
    n_valid: Mapped[int] = mapped_column(Integer)
    n_dead_lettered: Mapped[int] = mapped_column(Integer)
    n_inbound: Mapped[int] = mapped_column(Integer)
    n_outbound: Mapped[int] = mapped_column(Integer)
    n_tickets_opened: Mapped[int] = mapped_column(Integer)
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def ticket_id_for(conversation_id: str) -> str:
    """A stable id: the same conversation gets the same ticket id in every run and database."""
    return TICKET_ID_PREFIX + uuid.uuid5(_TICKET_NAMESPACE, conversation_id).hex.upper()


def ticket_reference(number: int) -> str:
    """A ticket number as people write it: `#10482`."""
    return f"{TICKET_NUMBER_MARK}{number}"


def incident_scope_key(
    kind: str, brand: str | None, category: str | None, conversation_id: str | None
) -> str:
    """One row per incident scope: a later alert for the same spike updates it (null fields
    cannot be part of a unique key, so the scope is spelled out in one string)."""
    scope = {"brand": brand, "category": category, "conversation_id": conversation_id}
    return "|".join([kind, *(f"{k}={v}" for k, v in scope.items() if v is not None)])


def brand_of(text: str) -> str | None:
    """The first named @handle (twcs customers are numeric ids, brands have names); a longer
    @word than any handle (`HANDLE_MAX_CHARS`) is none, so the tweet keeps its ticket."""
    for match in _HANDLE.finditer(text):
        handle = match.group(1)
        if not handle.isdigit() and len(handle) <= HANDLE_MAX_CHARS:
            return handle
    return None


def reply_id_for(ticket_id: str) -> str:
    """One acknowledgement per ticket, so its id follows from the ticket's."""
    return REPLY_ID_PREFIX + ticket_id.removeprefix(TICKET_ID_PREFIX)


def reply_message_id(reply_id: str, decision: str) -> str:
    """The stable id of a reply's message on `replies`: one per decision, whoever sends it
    (the stream's draft, a person's approval), so consumers drop repeats by it."""
    return f"reply:{reply_id}:{decision}"


def state_after_drafting(decision: str) -> str:
    """A draft the gate let through is approved at once; a held one waits for a person."""
    return APPROVED if decision == AUTO else DRAFTED


def utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored here is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json_ready(row: Base) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in row.__table__.columns:
        value = getattr(row, column.key)
        out[column.key] = utc(value).isoformat() if isinstance(value, datetime) else value
    return out
