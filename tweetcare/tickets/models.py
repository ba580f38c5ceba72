"""The ticket tables, as SQLAlchemy 2 ORM classes portable across SQLite and Postgres.

Each table has a natural key (conversation, tweet, stream batch) so that a micro-batch the
stream replays after a crash finds its rows already there instead of adding them twice.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

TICKET_ID_PREFIX = "TC-"
# hex digits of the conversation's hash kept in a ticket id: short to read, unique in practice
TICKET_ID_DIGITS = 10
OPEN = "open"

_HANDLE = re.compile(r"@(\w+)")


class Base(DeclarativeBase):
    pass


class Ticket(Base):
    """One customer conversation that needs a reply."""

    __tablename__ = "tickets"

    ticket_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    brand: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=OPEN)
    text: Mapped[str] = mapped_column(Text)
    first_tweet_id: Mapped[str] = mapped_column(String(64))
    tweet_count: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    model_name: Mapped[str | None] = mapped_column(String(128))
    model_version: Mapped[str | None] = mapped_column(String(64))
    # the stream batch that opened it, so a replayed batch can publish its tickets again
    opened_in_batch: Mapped[str | None] = mapped_column(String(64), index=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (timestamps as ISO 8601), for the `tickets` topic and the CLI."""
        out: dict[str, Any] = {}
        for column in self.__table__.columns:
            value = getattr(self, column.key)
            out[column.key] = value.isoformat() if isinstance(value, datetime) else value
        return out


class TicketTweet(Base):
    """A tweet already counted in a ticket: its primary key makes attaching it twice a no-op."""

    __tablename__ = "ticket_tweets"

    tweet_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.ticket_id"), index=True)
    attached_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


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
    digest = hashlib.sha1(conversation_id.encode("utf-8")).hexdigest()
    return TICKET_ID_PREFIX + digest[:TICKET_ID_DIGITS].upper()


def brand_of(text: str) -> str | None:
    """The first named @handle (twcs customers are numeric ids, brands have names)."""
    for match in _HANDLE.finditer(text):
        if not match.group(1).isdigit():
            return match.group(1)
    return None
