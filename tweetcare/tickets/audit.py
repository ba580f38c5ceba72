"""Who did what to a ticket, and when: the audit trail beside the ticket store.

One append-only table (`audit_log`) in the ticket database, with its own metadata so the
store's schema checks never see it; created on first use. The console records every approve,
reject, close and edit an agent makes; the CLI can record through the same `record`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import DateTime, Engine, Integer, String, Text, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from tweetcare.core.errors import UserError

ACTIONS: tuple[str, ...] = ("approve", "reject", "close", "edit")


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


def trail(url_or_engine: str | Engine, ticket_id: str) -> list[AuditEntry]:
    """Everything recorded about a ticket and its reply, oldest first."""
    query = (
        select(AuditRow)
        .where(AuditRow.ticket_id == ticket_id)
        .order_by(AuditRow.at, AuditRow.entry_id)
    )
    with Session(_engine(url_or_engine)) as session:
        return [_entry(row) for row in session.scalars(query)]


def _entry(row: AuditRow) -> AuditEntry:
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)  # SQLite drops the zone
    return AuditEntry(at, row.actor, row.action, row.target_id, row.ticket_id, row.detail)


def _engine(url_or_engine: str | Engine) -> Engine:
    engine = url_or_engine if isinstance(url_or_engine, Engine) else _engine_for(url_or_engine)
    _create_table(engine)
    return engine


@functools.cache
def _engine_for(url: str) -> Engine:
    return create_engine(url)


def _create_table(engine: Engine) -> None:
    AuditBase.metadata.create_all(engine, checkfirst=True)
