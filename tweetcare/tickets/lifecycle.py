"""What one tweet does to a ticket: open it, attach a follow-up, or record the brand's answer.

Pure rules on ORM objects held in memory; the store loads them, calls these, and writes the
result back in bulk, keeping it idempotent by tweet id.
"""

from __future__ import annotations

from datetime import datetime

from tweetcare.core.schemas import Analysis, TweetMessage
from tweetcare.tickets.incidents import Incident
from tweetcare.tickets.models import (
    AUTO,
    FIRST_VERSION,
    OPEN,
    RESPONDED,
    Reply,
    Ticket,
    brand_of,
    reply_id_for,
    state_after_drafting,
    ticket_id_for,
    utc,
)
from tweetcare.tickets.replies import ReplyTemplates, draft_reply
from tweetcare.tickets.routing import RoutingRules


def open_ticket(
    tweet: TweetMessage,
    analysis: Analysis,
    when: datetime,
    routing: RoutingRules,
    batch_id: str | None,
    data_version: str | None,
    opened_at: datetime,
) -> Ticket:
    """A new ticket for the tweet's conversation, its SLA clock running from `opened_at` (the
    store's time, not the tweet's); its number comes from the database when it is written."""
    brand = brand_of(tweet.text)
    category = routing.category_of(analysis)
    priority = routing.priority_for(analysis, tweet.text)
    return Ticket(
        ticket_id=ticket_id_for(tweet.conversation_id),
        conversation_id=tweet.conversation_id,
        customer_id=tweet.author_id,
        brand=brand,
        category=category,
        category_confidence=analysis.category_confidence,
        team=routing.team_for(category, brand, analysis.language),
        priority=priority,
        sentiment=analysis.sentiment,
        sentiment_score=analysis.sentiment_score,
        entities=[e.model_dump() for e in analysis.entities],
        status=OPEN,
        text=analysis.masked_text,
        first_tweet_id=tweet.tweet_id,
        tweet_count=1,
        created_at=when,
        opened_at=opened_at,
        updated_at=when,
        sla_due_at=routing.sla_due(priority, opened_at),
        models=dict(analysis.models),
        data_version=data_version,
        opened_in_batch=batch_id,
        version=FIRST_VERSION,
    )


def attach_follow_up(
    ticket: Ticket, analysis: Analysis, when: datetime, routing: RoutingRules
) -> None:
    """A follow-up: counted, its entities kept, the ticket reopened and escalated if it must be."""
    ticket.tweet_count += 1
    ticket.updated_at = max(utc(ticket.updated_at), when)
    known = {(e["label"], e["text"]) for e in ticket.entities}
    new = [e.model_dump() for e in analysis.entities if (e.label, e.text) not in known]
    if new:
        ticket.entities = [*ticket.entities, *new]  # a new list, so the JSON column is saved
    if ticket.status != OPEN:
        ticket.status = OPEN  # the customer is waiting on the brand again
        ticket.closed_at = None
    if analysis.category is not None:
        priority = routing.more_urgent(
            ticket.priority, routing.priority_for(analysis, analysis.masked_text)
        )
        if priority != ticket.priority:
            ticket.priority = priority
            ticket.sla_due_at = routing.sla_due(priority, utc(ticket.opened_at))


def raise_for_incident(ticket: Ticket, incident: Incident, routing: RoutingRules) -> str | None:
    """An open ticket in an active incident moves up `priority.incident_raise` levels (capped at
    the top) and keeps the incident's alert id, so an agent sees why; once per ticket, so an
    incident's later alerts and tweets do not raise it again. The priority it had before, or
    None when the rule does not apply (it is off, the ticket is not open or already raised)."""
    if not routing.priority.incident_raise or ticket.status != OPEN:
        return None
    if ticket.incident_alert_id is not None:
        return None
    before = ticket.priority
    ticket.incident_alert_id = incident.alert_id
    ticket.priority = routing.incident_priority(before)
    if ticket.priority != before:
        ticket.sla_due_at = routing.sla_due(ticket.priority, utc(ticket.opened_at))
    return before


def record_response(ticket: Ticket, tweet_id: str, when: datetime) -> None:
    """A brand reply in the thread: the ticket is answered; the first one sets the response time."""
    if ticket.first_response_at is None:
        ticket.first_response_at = when
        ticket.first_response_seconds = max((when - utc(ticket.created_at)).total_seconds(), 0.0)
        ticket.first_response_tweet_id = tweet_id
    if ticket.status == OPEN:
        ticket.status = RESPONDED
    ticket.updated_at = max(utc(ticket.updated_at), when)


def draft_for(
    ticket: Ticket,
    analysis: Analysis,
    templates: ReplyTemplates,
    tweet_id: str,
    now: datetime,
    batch_id: str | None,
    priority: str,
) -> Reply:
    """The ticket's acknowledgement, naming its number (so the ticket is written first), for
    the priority it opened with."""
    draft = draft_reply(templates, analysis, ticket.category, priority, ticket.reference)
    return Reply(
        reply_id=reply_id_for(ticket.ticket_id),
        ticket_id=ticket.ticket_id,
        conversation_id=ticket.conversation_id,
        in_reply_to_tweet_id=tweet_id,
        brand=ticket.brand,
        text=draft.text,
        decision=draft.decision,
        state=state_after_drafting(draft.decision),
        gate_reasons=draft.reasons,
        drafted_at=now,
        decided_at=now if draft.decision == AUTO else None,
        drafted_in_batch=batch_id,
        version=FIRST_VERSION,
    )
