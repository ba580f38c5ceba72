"""Agents correct what the models said about a ticket; the corrections become training labels.

A correction changes the ticket at once (a new category re-routes it, a brand tweet taken for a
customer's closes it, a wrong drafted reply is rejected if nobody decided it yet) and is kept
with the agent and the time. `export_frame` turns them into one labelled row per tweet, the file
`tweetcare data corrections export` writes into `data/` for the next `dvc repro`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tweetcare.core.corrections import read_corrections_csv
from tweetcare.core.errors import UserError
from tweetcare.core.schemas import CATEGORIES, CORRECTED_FIELDS, CORRECTION_COLUMNS, SENTIMENTS
from tweetcare.tickets import audit
from tweetcare.tickets.lookup import find_ticket_id
from tweetcare.tickets.models import (
    CLOSED,
    DECIDABLE,
    REJECTED,
    REPLY_WRONG,
    Correction,
    Reply,
    Ticket,
    reply_id_for,
)
from tweetcare.tickets.routing import RoutingRules
from tweetcare.tickets.store import TicketStore


@dataclass(frozen=True)
class Changes:
    """What an agent says the models should have answered (None: no opinion)."""

    category: str | None = None
    sentiment: str | None = None
    inbound: bool | None = None
    reply_wrong: bool = False

    def check(self) -> None:
        if self.category is not None and self.category not in CATEGORIES:
            raise UserError(f"unknown category {self.category!r}; one of: {', '.join(CATEGORIES)}")
        if self.sentiment is not None and self.sentiment not in SENTIMENTS:
            raise UserError(
                f"unknown sentiment {self.sentiment!r}; one of: {', '.join(SENTIMENTS)}"
            )
        if self == Changes():
            raise UserError("nothing to correct: give a category, a sentiment, inbound or reply")


def correct_ticket(
    store: TicketStore, ticket_id: str, agent: str, changes: Changes, routing: RoutingRules
) -> list[dict[str, Any]]:
    """Apply and record an agent's corrections in one transaction; the ones that changed
    something (a value equal to the model's answer is not a correction)."""
    changes.check()
    if not agent:
        raise UserError("a correction needs the name of the agent who made it")
    now = datetime.now(UTC)
    with Session(store.engine) as session, session.begin():
        found = find_ticket_id(session, ticket_id)
        ticket = session.get(Ticket, found) if found else None
        if ticket is None:
            raise UserError(f"no ticket {ticket_id} in {store.url}")
        found = _apply(session, ticket, changes, routing, now)
        rows = [
            {
                "ticket_id": ticket.ticket_id,
                "tweet_id": ticket.first_tweet_id,
                "field": field,
                "before": before,
                "after": after,
                "agent": agent,
                "corrected_at": now,
            }
            for field, before, after in found
        ]
        if rows:
            ticket.updated_at = now
            session.execute(insert(Correction), rows)
            entries = [
                {
                    "at": now,
                    "actor": agent,
                    "action": audit.CORRECT,
                    "target_id": ticket.ticket_id,
                    "ticket_id": ticket.ticket_id,
                    "detail": f"{r['field']}: {r['before']} -> {r['after']}",
                }
                for r in rows
            ]
            audit.append(session.connection(), entries)
    return rows


def _apply(
    session: Session, ticket: Ticket, changes: Changes, routing: RoutingRules, now: datetime
) -> list[tuple[str, str | None, str]]:
    """Change the ticket as each correction says; (field, before, after) of each change."""
    found: list[tuple[str, str | None, str]] = []
    if changes.category is not None and changes.category != ticket.category:
        found.append(("category", ticket.category, changes.category))
        ticket.category = changes.category
        if ticket.team not in _language_queues(routing):  # the language decides that queue
            ticket.team = routing.team_for(changes.category, ticket.brand)
    if changes.sentiment is not None and changes.sentiment != ticket.sentiment:
        found.append(("sentiment", ticket.sentiment, changes.sentiment))
        ticket.sentiment = changes.sentiment
    if changes.inbound is False:  # a ticket exists because the model said "customer"
        found.append(("inbound", "True", "False"))
        if ticket.status != CLOSED:  # a brand's own tweet: nobody to answer
            ticket.status, ticket.closed_at = CLOSED, now
    if changes.reply_wrong:
        reply = session.get(Reply, reply_id_for(ticket.ticket_id))
        if reply is not None:
            found.append(("reply", reply.state, REPLY_WRONG))
            if reply.state in DECIDABLE:  # not decided yet: it never goes out
                reply.decision, reply.state = REJECTED, REJECTED
    return found


def _language_queues(routing: RoutingRules) -> set[str]:
    return {*routing.teams.by_language.values(), routing.teams.other_languages} - {None, ""}


def list_corrections(store: TicketStore, ticket_id: str | None = None) -> list[dict[str, Any]]:
    """Corrections, oldest first (of one ticket when given); none before the stream ran."""
    if not store.has_schema():
        return []
    query = select(Correction).order_by(Correction.correction_id)
    if ticket_id is not None:
        query = query.where(Correction.ticket_id == ticket_id.upper())
    with Session(store.engine) as session:
        return [c.to_dict() for c in session.scalars(query)]


def export_frame(store: TicketStore) -> pd.DataFrame:
    """One labelled row per corrected tweet: the model's answers with the agents' corrections
    applied (the latest one per field wins), the ticket's masked text, who and when."""
    with Session(store.engine) as session:
        pairs = session.execute(
            select(Correction, Ticket)
            .join(Ticket, Ticket.ticket_id == Correction.ticket_id)
            .where(Correction.field.in_(CORRECTED_FIELDS))
            .order_by(Correction.correction_id)
        ).all()
    rows: dict[str, dict[str, Any]] = {}
    for correction, ticket in pairs:
        row = rows.setdefault(
            correction.tweet_id,
            {
                "tweet_id": correction.tweet_id,
                "text": ticket.text,
                "inbound": True,
                "category": ticket.category,
                "sentiment": ticket.sentiment,
                "corrected": [],
            },
        )
        value: Any = (
            correction.after == "True" if correction.field == "inbound" else correction.after
        )
        row[correction.field] = value
        if correction.field not in row["corrected"]:
            row["corrected"].append(correction.field)
        row["agent"], row["corrected_at"] = correction.agent, correction.corrected_at
    frame = pd.DataFrame(list(rows.values()), columns=list(CORRECTION_COLUMNS))
    brand = ~frame["inbound"].astype(bool)
    frame.loc[brand, ["category", "sentiment"]] = None  # a brand tweet has no complaint
    frame["corrected"] = frame["corrected"].map(lambda fields: ",".join(sorted(fields)))
    frame["corrected_at"] = pd.to_datetime(frame["corrected_at"], utc=True).map(
        lambda t: t.isoformat()
    )
    return frame


def merge_into(path: Path, fresh: pd.DataFrame) -> pd.DataFrame:
    """The file's earlier exports plus `fresh`, one row per tweet, the newest correction
    winning: exports accumulate, so a new ticket database does not drop older labels."""
    if path.is_file():
        earlier = read_corrections_csv(path)
        earlier = earlier.assign(inbound=earlier["inbound"].map({"True": True, "False": False}))
        fresh = pd.concat([earlier, fresh], ignore_index=True)
    fresh = fresh.sort_values("corrected_at", kind="stable")
    return fresh.drop_duplicates("tweet_id", keep="last").reset_index(drop=True)
