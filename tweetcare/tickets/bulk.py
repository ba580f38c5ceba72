"""Bulk statements the store's writers share: ids in chunks for IN (...), rows from ORM
objects, one executemany UPDATE of tickets that moves their versions on."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Column, Connection, bindparam, select
from sqlalchemy import update as sa_update

from tweetcare.tickets.models import Base, Ticket

# ids per IN (...) clause: well under SQLite's and Postgres' parameter limits
IN_CLAUSE_CHUNK = 500
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


def chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), IN_CLAUSE_CHUNK):
        yield items[start : start + IN_CLAUSE_CHUNK]


def ids_present(conn: Connection, column: Column[str], ids: list[str]) -> set[str]:
    """Which of these ids the column already holds (looked up in chunks)."""
    found: set[str] = set()
    for chunk in chunks(sorted(set(ids))):
        found.update(conn.scalars(select(column).where(column.in_(chunk))))
    return found


def row_of(obj: Base) -> dict[str, Any]:
    """An ORM object's column values, for a bulk statement."""
    return {column.key: getattr(obj, column.key) for column in obj.__table__.columns}


def update_tickets(conn: Connection, rows: list[dict[str, Any]]) -> None:
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
