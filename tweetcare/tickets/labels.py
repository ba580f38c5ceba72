"""Agents' labels from the console's Label queue, kept beside their ticket corrections.

The queue offers customer tweets the models are unsure of, ticket or not. An agent's answer for
one tweet (category, sentiment, whether it needs a ticket) goes into the `corrections` table as
one row per answer with `source` `queue`, the model's answer as `before` even where the agent
agrees (a confirmed answer is a label too), and the tweet's conversation and masked text, since
it may have no ticket to read them from. `labels_frame` turns queue labels and ticket corrections
into one labelled row per tweet for one task, what `tweetcare data labels export` writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tweetcare.core.errors import UserError
from tweetcare.core.schemas import CATEGORIES, ID_MAX_CHARS, SENTIMENTS
from tweetcare.tickets import audit
from tweetcare.tickets.models import QUEUE_SOURCE, Correction, Ticket, ticket_id_for
from tweetcare.tickets.store import TicketStore

# the tasks a queue label answers, as `corrections.field`
CATEGORY, SENTIMENT, NEEDS_TICKET = "category", "sentiment", "needs_ticket"
LABELLED_FIELDS: tuple[str, ...] = (CATEGORY, SENTIMENT, NEEDS_TICKET)
# a ticket correction that says a tweet was a brand's voids its labels: the three tasks are
# questions about a customer's tweet (a brand's is the inbound model's to learn)
INBOUND = "inbound"
# a yes/no answer as `corrections.after` keeps it (as `inbound` is kept)
YES, NO = "True", "False"
LABEL_COLUMNS: tuple[str, ...] = ("tweet_id", "conversation_id", "text", "label")


@dataclass(frozen=True)
class TweetLabel:
    """What an agent says about one customer tweet."""

    category: str
    sentiment: str
    needs_ticket: bool

    def check(self) -> None:
        if self.category not in CATEGORIES:
            raise UserError(f"unknown category {self.category!r}; one of: {', '.join(CATEGORIES)}")
        if self.sentiment not in SENTIMENTS:
            raise UserError(
                f"unknown sentiment {self.sentiment!r}; one of: {', '.join(SENTIMENTS)}"
            )

    def answers(self) -> dict[str, str]:
        return {
            CATEGORY: self.category,
            SENTIMENT: self.sentiment,
            NEEDS_TICKET: YES if self.needs_ticket else NO,
        }

    def describe(self) -> str:
        ticket = "needs a ticket" if self.needs_ticket else "no ticket"
        return f"{self.category}, {self.sentiment}, {ticket}"


def label_tweet(
    store: TicketStore, tweet: Mapping[str, Any], agent: str, label: TweetLabel
) -> list[dict[str, Any]]:
    """Record an agent's label of a lake tweet (`tweet_id`, `conversation_id`, `text` and the
    model's `category`, `sentiment`, `needs_ticket`) and its audit entry in one transaction;
    the rows written. UserError when the queue already holds a label of this tweet."""
    label.check()
    if not agent:
        raise UserError("a label needs the name of the agent who gave it")
    tweet_id = str(tweet["tweet_id"])
    conversation_id = str(tweet["conversation_id"])
    _check_storable(tweet_id, conversation_id, str(tweet["text"]))
    model = {
        CATEGORY: None if _missing(tweet.get(CATEGORY)) else str(tweet[CATEGORY]),
        SENTIMENT: None if _missing(tweet.get(SENTIMENT)) else str(tweet[SENTIMENT]),
        NEEDS_TICKET: None if _missing(tweet.get(NEEDS_TICKET)) else _yes_no(tweet[NEEDS_TICKET]),
    }
    now = datetime.now(UTC)
    with Session(store.engine) as session, session.begin():
        # checked in the transaction that writes, so a second save of the same tweet says so
        earlier = session.scalars(
            select(Correction)
            .where(Correction.tweet_id == tweet_id, Correction.source == QUEUE_SOURCE)
            .limit(1)
        ).first()
        if earlier is not None:
            raise UserError(f"tweet {tweet_id} was labelled by {earlier.agent} already")
        # the audit trail shows a label on its conversation's ticket, when there is one
        ticket = session.get(Ticket, ticket_id_for(conversation_id))
        rows = [
            {
                "ticket_id": None,  # a queue label is no ticket correction (see the module)
                "tweet_id": tweet_id,
                "field": field,
                "before": model[field],
                "after": after,
                "agent": agent,
                "corrected_at": now,
                "source": QUEUE_SOURCE,
                "conversation_id": conversation_id,
                "text": str(tweet["text"]),
            }
            for field, after in label.answers().items()
        ]
        session.execute(insert(Correction), rows)
        entry = {
            "at": now,
            "actor": agent,
            "action": audit.LABEL,
            "target_id": tweet_id,
            "ticket_id": ticket.ticket_id if ticket is not None else tweet_id,
            "detail": label.describe(),
        }
        audit.append(session.connection(), [entry])
    return rows


def labelled_tweet_ids(store: TicketStore) -> set[str]:
    """Tweets agents have labelled already: in the queue, or by correcting a model's answer on a
    ticket (a mark on a drafted reply labels no tweet)."""
    if not store.has_schema():
        return set()
    fields = (*LABELLED_FIELDS, INBOUND)
    with Session(store.engine) as session:
        found = session.scalars(
            select(Correction.tweet_id).where(Correction.field.in_(fields)).distinct()
        )
        return set(found)


def labels_frame(store: TicketStore, task: str) -> pd.DataFrame:
    """One row per tweet an agent labelled for `task` (category, sentiment or needs_ticket), in
    the queue or on a ticket: `LABEL_COLUMNS`, the newest label winning. A tweet an agent then
    said is a brand's (`inbound` corrected to False) has no label of these tasks."""
    if task not in LABELLED_FIELDS:
        raise UserError(f"unknown task {task!r}; one of: {', '.join(LABELLED_FIELDS)}")
    if not store.has_schema():
        return pd.DataFrame(columns=list(LABEL_COLUMNS))
    query = (
        select(Correction, Ticket)
        .outerjoin(Ticket, Ticket.ticket_id == Correction.ticket_id)
        .where(Correction.field.in_((task, INBOUND)))
        .order_by(Correction.corrected_at, Correction.correction_id)
    )
    with Session(store.engine) as session:
        pairs = session.execute(query).all()
    rows: dict[str, dict[str, Any]] = {}
    for correction, ticket in pairs:
        if correction.field == INBOUND:
            if correction.after == NO:  # a brand's tweet keeps no label of these tasks
                rows.pop(correction.tweet_id, None)
            continue
        rows.pop(correction.tweet_id, None)  # re-inserted: the newest label comes last
        rows[correction.tweet_id] = {
            "tweet_id": correction.tweet_id,
            "conversation_id": correction.conversation_id
            or (ticket.conversation_id if ticket is not None else None),
            "text": correction.text or (ticket.text if ticket is not None else None),
            "label": correction.after,
        }
    frame = pd.DataFrame(list(rows.values()), columns=list(LABEL_COLUMNS))
    return frame.assign(conversation_id=frame["conversation_id"].fillna(frame["tweet_id"]))


def merge_labels(earlier: pd.DataFrame | None, fresh: pd.DataFrame) -> pd.DataFrame:
    """An earlier export of the set plus `fresh`, one row per tweet, `fresh` winning (it is
    newer): exports accumulate, so a new ticket database does not drop older labels."""
    frames = [f[list(LABEL_COLUMNS)] for f in (earlier, fresh) if f is not None and not f.empty]
    if not frames:
        return pd.DataFrame(columns=list(LABEL_COLUMNS))
    merged = pd.concat(frames, ignore_index=True)
    return merged.drop_duplicates("tweet_id", keep="last").reset_index(drop=True)


def _check_storable(tweet_id: str, conversation_id: str, text: str) -> None:
    """The same refusal on SQLite and Postgres for a tweet no store should hold: ids the
    schema's length (`ID_MAX_CHARS`), no NUL (Postgres cannot store one)."""
    for name, value in (("tweet id", tweet_id), ("conversation id", conversation_id)):
        if not value or len(value) > ID_MAX_CHARS or "\x00" in value:
            raise UserError(f"not a {name} (1 to {ID_MAX_CHARS} characters): {value[:80]!r}")
    if "\x00" in text:
        raise UserError(f"tweet {tweet_id} holds a NUL character: it cannot be labelled")


def _missing(value: Any) -> bool:
    """None, NaN or pd.NA: a lake column the model left empty."""
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def _yes_no(value: Any) -> str:
    return YES if bool(value) else NO
