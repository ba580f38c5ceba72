"""What an agent does to a ticket or its reply: decide, edit, close, reopen, assign.

Each action is a compare-and-set on the version the agent saw (`UPDATE ... WHERE version = :v`),
so a change made since they loaded the row (a colleague's decision, the stream attaching a
follow-up) is refused with "reload" instead of being overwritten; without a version it acts on
the row as it is now. The change and its audit entry commit in one transaction: there is never
one without the other. The console and the CLI both act through here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, or_, select, update
from sqlalchemy.orm import Session

from tweetcare.core.errors import UsageError, UserError
from tweetcare.tickets import audit
from tweetcare.tickets.lookup import find_ticket_id
from tweetcare.tickets.models import (
    APPROVED,
    CLOSED,
    DECIDABLE,
    EDITABLE,
    OPEN,
    REJECTED,
    Reply,
    Ticket,
    utc,
)
from tweetcare.tickets.store import TicketStore
from tweetcare.tickets.tweet_text import checked_reply_text

# the tickets table's column (`String(64)`)
ASSIGNEE_MAX = 64


class ChangedMeanwhile(UserError):
    """The row moved on since the agent loaded it: they reload and decide again."""


def decide_reply(
    store: TicketStore, reply_id: str, approve: bool, actor: str, version: int | None = None
) -> Reply:
    """A person's decision on a held reply, an unclear one or one X refused.

    Approving an unclear reply says it is not on X (it goes back to be posted); rejecting it
    says it must not be posted again. A reply a post run holds is refused, as is any other state.
    """
    _require(actor)
    now = datetime.now(UTC)
    table = Reply.__table__
    with store.writer() as conn:
        row = _reply_row(conn, store, reply_id, version)
        if row["state"] not in DECIDABLE:
            raise UserError(f"reply {row['reply_id']} is not pending (it is {row['state']})")
        lease = row["lease_expires_at"]
        if lease is not None and utc(lease) > now:
            raise UserError(
                f"reply {row['reply_id']} is being posted by run {row['lease_owner']} until "
                f"{utc(lease):%H:%M:%S} UTC: decide it after that run has ended"
            )
        verdict = APPROVED if approve else REJECTED
        free = or_(table.c.lease_expires_at.is_(None), table.c.lease_expires_at <= now)
        changes = {"decision": verdict, "state": verdict, "decided_at": now}
        _compare_and_set(conn, table, table.c.reply_id, row, changes, "reply", free)
        audit.append(
            conn,
            [_entry(now, actor, "approve" if approve else "reject", row["reply_id"], row)],
        )
    return _reload(store, Reply, row["reply_id"])


def edit_reply(
    store: TicketStore, reply_id: str, text: str, actor: str, version: int | None = None
) -> Reply:
    """Change the text of a reply that waits for a person (drafted, or refused by X); text X
    would refuse for its length is refused here, before anything is saved."""
    _require(actor)
    text = checked_reply_text(text)
    now = datetime.now(UTC)
    table = Reply.__table__
    with store.writer() as conn:
        row = _reply_row(conn, store, reply_id, version)
        if row["state"] not in EDITABLE:
            raise UserError(
                f"reply {row['reply_id']} is {row['state']}: only a drafted or refused one "
                "is edited"
            )
        if row["text"] != text:
            _compare_and_set(conn, table, table.c.reply_id, row, {"text": text}, "reply")
            detail = f"was: {row['text']}"
            audit.append(conn, [_entry(now, actor, "edit", row["reply_id"], row, detail)])
    return _reload(store, Reply, row["reply_id"])


def close_ticket(
    store: TicketStore, ticket_id: str, actor: str, version: int | None = None
) -> Ticket:
    """Close a ticket (its number, or a unique prefix of its id) by hand; a customer tweeting
    again in the thread reopens it. Refused when a follow-up (or anything else) changed the
    ticket since the agent loaded it."""
    _require(actor)
    now = datetime.now(UTC)
    table = Ticket.__table__
    with store.writer() as conn:
        row = _ticket_row(conn, store, ticket_id, version)
        if row["status"] == CLOSED:
            raise UserError(f"ticket {row['ticket_id']} is closed already")
        changes = {"status": CLOSED, "closed_at": now}
        _compare_and_set(conn, table, table.c.ticket_id, row, changes, "ticket")
        audit.append(conn, [_entry(now, actor, "close", row["ticket_id"], row)])
    return _reload(store, Ticket, row["ticket_id"])


def reopen_ticket(
    store: TicketStore, ticket_id: str, actor: str, version: int | None = None
) -> Ticket:
    """Open a closed ticket again (closed by mistake, or the customer wrote by DM)."""
    _require(actor)
    now = datetime.now(UTC)
    table = Ticket.__table__
    with store.writer() as conn:
        row = _ticket_row(conn, store, ticket_id, version)
        if row["status"] != CLOSED:
            raise UserError(f"ticket {row['ticket_id']} is {row['status']}, not closed")
        changes = {"status": OPEN, "closed_at": None, "updated_at": now}
        _compare_and_set(conn, table, table.c.ticket_id, row, changes, "ticket")
        audit.append(conn, [_entry(now, actor, "reopen", row["ticket_id"], row)])
    return _reload(store, Ticket, row["ticket_id"])


def assign_ticket(
    store: TicketStore,
    ticket_id: str,
    assignee: str | None,
    actor: str,
    version: int | None = None,
) -> Ticket:
    """Give a ticket to an agent (None: back to the team's queue); the audit keeps who had it."""
    _require(actor)
    name = (assignee or "").strip() or None
    if name is not None and (len(name) > ASSIGNEE_MAX or not name.isprintable()):
        raise UsageError(f"an assignee is a printable name of at most {ASSIGNEE_MAX} characters")
    now = datetime.now(UTC)
    table = Ticket.__table__
    with store.writer() as conn:
        row = _ticket_row(conn, store, ticket_id, version)
        if row["assignee"] != name:
            changes = {"assignee": name, "updated_at": now}
            _compare_and_set(conn, table, table.c.ticket_id, row, changes, "ticket")
            detail = f"{row['assignee'] or 'queue'} -> {name or 'queue'}"
            audit.append(conn, [_entry(now, actor, "assign", row["ticket_id"], row, detail)])
    return _reload(store, Ticket, row["ticket_id"])


def _ticket_row(
    conn: Connection, store: TicketStore, ticket_id: str, version: int | None
) -> dict[str, Any]:
    """The ticket a number or id prefix names, locked until commit, at the version the agent
    saw (when they give one)."""
    table = Ticket.__table__
    found = find_ticket_id(conn, ticket_id) if store.has_schema() else None
    row = _locked(conn, table, table.c.ticket_id, found or ticket_id, "ticket", store)
    _check_version("ticket", row["ticket_id"], row["version"], version)
    return row


def _reply_row(
    conn: Connection, store: TicketStore, reply_id: str, version: int | None
) -> dict[str, Any]:
    """The reply, locked until commit, at the version the agent saw (when they give one)."""
    table = Reply.__table__
    row = _locked(conn, table, table.c.reply_id, reply_id, "reply", store)
    _check_version("reply", row["reply_id"], row["version"], version)
    return row


def _locked(
    conn: Connection, table: Table, key: Any, value: str, what: str, store: TicketStore
) -> dict[str, Any]:
    """The row as it is now, locked until commit (Postgres; SQLite holds its write lock)."""
    row = None
    if store.has_schema() and "\x00" not in value:  # no key holds a NUL (Postgres refuses one)
        query = select(table).where(key == value.strip().upper()).with_for_update()
        row = conn.execute(query).mappings().first()
    if row is None:
        raise UserError(f"no {what} {value} in the ticket store")
    return dict(row)


def _check_version(what: str, key: str, current: int, seen: int | None) -> None:
    if seen is not None and seen != current:
        raise ChangedMeanwhile(_changed(what, key, seen, current))


def _changed(what: str, key: str, seen: int | None, current: int | None) -> str:
    now = "" if current is None else f", now {current}"
    return (
        f"{what} {key} was changed by someone else since you loaded it (version {seen}{now}): "
        "reload it and try again"
    )


def _compare_and_set(
    conn: Connection,
    table: Table,
    key: Any,
    row: dict[str, Any],
    changes: dict[str, Any],
    what: str,
    *conditions: Any,
) -> None:
    """UPDATE ... WHERE version = the version read: nobody's change in between is overwritten."""
    done = conn.execute(
        update(table)
        .where(key == row[key.name], table.c.version == row["version"], *conditions)
        .values(changes | {"version": table.c.version + 1})
    )
    if done.rowcount != 1:
        raise ChangedMeanwhile(_changed(what, row[key.name], row["version"], None))


def _entry(
    now: datetime, actor: str, action: str, target: str, row: dict[str, Any], detail: str = ""
) -> dict[str, Any]:
    return {
        "at": now,
        "actor": actor,
        "action": action,
        "target_id": target,
        "ticket_id": row["ticket_id"],
        "detail": detail,
    }


def _require(actor: str) -> None:
    if not actor.strip():
        raise UserError("an audited action needs the name of who did it")


def _reload(store: TicketStore, model: type[Any], key: str) -> Any:
    with Session(store.engine) as session:
        return session.get(model, key)
