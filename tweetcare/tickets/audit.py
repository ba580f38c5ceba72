"""Who did what to a ticket, and when: the audit trail beside the ticket store.

One append-only table (`audit_log`) in the ticket database, with its own metadata so the
store's schema checks never see it; created on first use (and by the store's `create_schema`).
Every approve, reject, close and edit an agent makes, from the console or the CLI
(`tweetcare.tickets.actions`), and each priority raise by an incident (`raise`, by the monitor
or the stream) is appended (`append`) in the transaction that makes the change: there is never a
change without its entry, nor an entry without its change.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    Integer,
    String,
    Text,
    create_engine,
    insert,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from tweetcare.core.errors import UserError

RAISE = "raise"  # an active incident raised the ticket's priority
CORRECT = "correct"  # an agent corrected a model's answer on the ticket (or marked its reply)
# an agent labelled a tweet in the console's Label queue: the target is the tweet, the ticket its
# conversation's when it has one, else the tweet again
LABEL = "label"
ACTIONS: tuple[str, ...] = ("approve", "reject", "close", "edit", RAISE, CORRECT, LABEL)


class AuditBase(DeclarativeBase):
    pass


class AuditRow(AuditBase):
    __tablename__ = "audit_log"

    entry_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(16))
    # what was acted on (a ticket or a reply id) and the ticket it belongs to
    target_id: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[str] = mapped_column(String(64), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    target_id: str
    ticket_id: str
    detail: str


def record(
    url_or_engine: str | Engine,
    actor: str,
    action: str,
    target_id: str,
    detail: str = "",
    ticket_id: str | None = None,
) -> AuditEntry:
    """Append one entry, stamped now (UTC); `ticket_id` defaults to `target_id`."""
    if not actor:
        raise UserError("an audited action needs the name of who did it")
    if action not in ACTIONS:
        raise UserError(f"unknown audit action {action!r}; one of: {', '.join(ACTIONS)}")
    row = AuditRow(
        at=datetime.now(UTC),
        actor=actor,
        action=action,
        target_id=target_id,
        ticket_id=ticket_id or target_id,
        detail=detail,
    )
    with Session(_engine(url_or_engine)) as session, session.begin():
        session.add(row)
        session.flush()
        return _entry(row)


def append(connection: Connection, entries: list[dict[str, Any]]) -> None:
    """Append entries (`at`, `actor`, `action`, `target_id`, `ticket_id`, `detail`) inside the
    caller's transaction, so they commit with the change they describe. The table must exist
    (`create_table`): the stream's tasks must not race to create it."""
    if entries:
        connection.execute(insert(AuditRow.__table__), entries)


def trail(url_or_engine: str | Engine, ticket_id: str) -> list[AuditEntry]:
    """Everything recorded about a ticket and its reply, oldest first."""
    query = (
        select(AuditRow)
        .where(AuditRow.ticket_id == ticket_id)
        .order_by(AuditRow.at, AuditRow.entry_id)
    )
    with Session(_engine(url_or_engine)) as session:
        return [_entry(row) for row in session.scalars(query)]


def recent(url_or_engine: str | Engine, action: str, limit: int = 20) -> list[AuditEntry]:
    """The latest `limit` entries of one action, newest first."""
    query = (
        select(AuditRow)
        .where(AuditRow.action == action)
        .order_by(AuditRow.at.desc(), AuditRow.entry_id.desc())
        .limit(limit)
    )
    with Session(_engine(url_or_engine)) as session:
        return [_entry(row) for row in session.scalars(query)]


def _entry(row: AuditRow) -> AuditEntry:
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)  # SQLite drops the zone
    return AuditEntry(at, row.actor, row.action, row.target_id, row.ticket_id, row.detail)


def _engine(url_or_engine: str | Engine) -> Engine:
    engine = url_or_engine if isinstance(url_or_engine, Engine) else _engine_for(url_or_engine)
    create_table(engine)
    return engine


@functools.cache
def _engine_for(url: str) -> Engine:
    return create_engine(url, hide_parameters=True)  # rows are personal data: never logged


def create_table(engine: Engine) -> None:
    AuditBase.metadata.create_all(engine, checkfirst=True)
