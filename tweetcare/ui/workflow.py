"""The ticket rules as the console uses them: preview routing and the drafted reply of a tweet,
read a ticket's reply, and an agent's approve, reject, edit, close and corrections.

Everything goes through `tweetcare.tickets` (routing.yaml, replies.yaml, the store's approval
queue), so the console decides nothing the stream would decide differently. Every action an
agent takes names the version of the ticket or reply they saw (`tweetcare.tickets.actions`), so
a change made since is refused, not overwritten, and is recorded in the audit trail under their
name in the same transaction; so is every label given in the Label queue
(`tweetcare.tickets.labels`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from tweetcare.core.schemas import Analysis
from tweetcare.core.settings import Settings
from tweetcare.kafka.admin import reachable
from tweetcare.tickets import actions, audit
from tweetcare.tickets.announce import publish_replies
from tweetcare.tickets.corrections import Changes, correct_ticket
from tweetcare.tickets.labels import TweetLabel, label_tweet, labelled_tweet_ids
from tweetcare.tickets.lookup import find_ticket_id
from tweetcare.tickets.models import (
    DECIDABLE,
    TICKET_NUMBER_MARK,
    Reply,
    Ticket,
    brand_of,
    reply_id_for,
)
from tweetcare.tickets.replies import draft_reply, load_replies
from tweetcare.tickets.routing import load_routing
from tweetcare.ui.backends import with_store

# the number a previewed tweet's reply shows: a ticket gets its number when the stream opens it
PREVIEW_REFERENCE = TICKET_NUMBER_MARK + "…"


@dataclass(frozen=True)
class Preview:
    """What the stream would do with this tweet: route it, prioritise it, draft a reply."""

    category: str
    team: str
    priority: str
    sla_minutes: float
    reply: str
    decision: str
    reasons: list[str]


def preview(settings: Settings, analysis: Analysis, text: str) -> Preview | None:
    """The ticket this tweet would open and its drafted reply; None when it opens none."""
    if not analysis.needs_ticket:
        return None
    routing = load_routing(settings.routing_config)
    templates = load_replies(settings.replies_config)
    category = routing.category_of(analysis)
    priority = routing.priority_for(analysis, text)
    draft = draft_reply(templates, analysis, category, priority, PREVIEW_REFERENCE)
    return Preview(
        category=category,
        team=routing.team_for(category, brand_of(text), analysis.language),
        priority=priority,
        sla_minutes=routing.sla_minutes[priority],
        reply=draft.text,
        decision=draft.decision,
        reasons=list(draft.reasons),
    )


def priority_levels(settings: Settings) -> list[str]:
    """The routing rules' priorities, most urgent first (queues sort by them)."""
    return list(load_routing(settings.routing_config).priority.levels)


def reply_of(settings: Settings, ticket_id: str) -> dict[str, Any] | None:
    """The drafted reply of a ticket (one per ticket), or None."""

    def read(store: Any) -> dict[str, Any] | None:
        with Session(store.engine) as session:
            reply = session.get(Reply, reply_id_for(ticket_id))
            return None if reply is None else reply.to_dict()

    return with_store(settings, read)


def find_ticket(settings: Settings, reference: str) -> dict[str, Any] | None:
    """The ticket an agent named by its number (`#10482`, `10482`) or a unique prefix of its
    id, None when there is none; UserError naming the matches when a prefix fits several."""

    def read(store: Any) -> dict[str, Any] | None:
        if not store.has_schema():
            return None
        with Session(store.engine) as session:
            ticket_id = find_ticket_id(session, reference)
            ticket = session.get(Ticket, ticket_id) if ticket_id else None
            return None if ticket is None else ticket.to_dict()

    return with_store(settings, read)


def pending_ticket_ids(settings: Settings) -> set[str]:
    """Tickets whose reply waits for a person (held, refused by X, or of unclear outcome)."""
    return with_store(
        settings,
        lambda store: {r.ticket_id for r in store.list_replies(limit=1_000_000, states=DECIDABLE)},
    )


@dataclass(frozen=True)
class Decision:
    reply: dict[str, Any]
    # where an approved reply was announced, or why it was not (empty for a rejection)
    note: str


def decide(
    settings: Settings, reply_id: str, approve: bool, agent: str, version: int | None
) -> Decision:
    """Approve or reject a reply waiting for a person, as `agent` saw it at `version` (a
    second decision or a change since is refused: UserError), with its audit entry.

    An approved reply is published to the `replies` topic like the gate's automatic ones, as
    `tweetcare replies approve` does; with no broker it stays approved in the store, where
    `tweetcare replies post` finds it.
    """
    reply = with_store(
        settings,
        lambda store: actions.decide_reply(store, reply_id, approve, agent, version).to_dict(),
    )
    if not approve:
        return Decision(reply, "")
    if not reachable(settings):
        return Decision(
            reply,
            f"not published to `{settings.topic_replies}`: no Kafka broker at "
            f"{settings.kafka_bootstrap} (`tweetcare kafka start`)",
        )
    publish_replies(settings, [reply])
    return Decision(reply, f"published to `{settings.topic_replies}`")


def edit_reply(
    settings: Settings, reply_id: str, text: str, agent: str, version: int | None
) -> dict[str, Any]:
    """Change the text of a reply that still waits for a person, as `agent` saw it at
    `version`; text X would refuse (over 280 characters) is refused with a clear message."""
    return with_store(
        settings,
        lambda store: actions.edit_reply(store, reply_id, text, agent, version).to_dict(),
    )


def close_ticket(
    settings: Settings, ticket_id: str, agent: str, version: int | None
) -> dict[str, Any]:
    """Close a ticket by hand (as `tweetcare tickets close`) as `agent` saw it at `version`: a
    follow-up that arrived since makes it a conflict, not a close."""
    return with_store(
        settings, lambda store: actions.close_ticket(store, ticket_id, agent, version).to_dict()
    )


def correct(
    settings: Settings, ticket_id: str, changes: Changes, agent: str
) -> list[dict[str, Any]]:
    """Record an agent's corrections of the models' answers (as `tweetcare tickets correct`);
    the ones that changed something, each also in the audit trail."""
    routing = load_routing(settings.routing_config)
    return with_store(
        settings, lambda store: correct_ticket(store, ticket_id, agent, changes, routing)
    )


def audit_trail(settings: Settings, ticket_id: str) -> list[audit.AuditEntry]:
    """What agents did to this ticket and its reply, oldest first."""
    return audit.trail(settings.tickets_db_url, ticket_id)


def labelled(settings: Settings) -> set[str]:
    """Tweets agents have labelled already (the Label queue does not offer them again)."""
    return with_store(settings, labelled_tweet_ids)


def label(
    settings: Settings, tweet: dict[str, Any], answer: TweetLabel, agent: str
) -> list[dict[str, Any]]:
    """Record an agent's label of a lake tweet with its audit entry, in one transaction."""
    return with_store(settings, lambda store: label_tweet(store, tweet, agent, answer))


def recent_labels(settings: Settings, limit: int = 10) -> list[audit.AuditEntry]:
    """The latest labels given in the Label queue, newest first, from the audit trail."""
    return with_store(settings, lambda store: audit.recent(store.engine, audit.LABEL, limit))
