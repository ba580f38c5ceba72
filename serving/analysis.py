"""Composing /analyze answers from the inbound model and the three analysis models.

Pure functions, kept apart from BentoML so the rules are unit-testable: what a brand reply gets
(the inbound answer only), what a customer tweet gets, and the ticket decision.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from tweetcare.core.pii import mask_pii, mask_value
from tweetcare.core.schemas import Analysis, Classification, Entity

# Categories that never open a ticket: thanks and compliments, and chit-chat about the brand.
NO_TICKET_CATEGORIES = frozenset({"praise", "other"})
# Flags that mean nobody needs help: a complaint in another language is still a customer's
# (it opens a ticket, routed to a language queue), so `not_english` is not one of them.
NO_TICKET_FLAGS = frozenset({"spam", "chatter"})


def needs_ticket(
    inbound: bool, flags: Sequence[str], category: str | None, sentiment: str | None
) -> bool:
    """Does this tweet ask the support team for something?

    A customer tweet does unless it is flagged spam or chatter, its category is
    praise or other, or its sentiment is positive (a thank-you, whatever the topic). Follow-ups
    in a thread that already has a ticket attach to it whatever this says: that is the ticket
    store's rule, one ticket per conversation.
    """
    return (
        inbound
        and not NO_TICKET_FLAGS.intersection(flags)
        and category not in NO_TICKET_CATEGORIES
        and sentiment != "positive"
    )


def lineage(info: Mapping[str, Any]) -> str:
    """`Analysis.models` value of one model: "version (run id)"."""
    return f"{info.get('version')} (run {info.get('run_id')})"


def customer_fields(
    sentiment: pd.DataFrame, category: pd.DataFrame, entities: pd.DataFrame
) -> list[dict[str, Any]]:
    """Row-aligned pyfunc outputs -> one plain dict per text; PHONE/EMAIL entity texts masked."""
    rows = []
    for s, c, e in zip(
        sentiment.itertuples(index=False),
        category.itertuples(index=False),
        entities.itertuples(index=False),
        strict=True,
    ):
        spans = [
            {**span, "text": mask_value(span["label"], span["text"])}
            for span in json.loads(e.entities)
        ]
        rows.append(
            {
                "sentiment": str(s.sentiment),
                "sentiment_score": min(max(float(s.sentiment_score), -1.0), 1.0),
                "category": str(c.category),
                "category_confidence": min(max(float(c.category_confidence), 0.0), 1.0),
                "language": str(c.language),
                "flags": [f for f in str(c.flags).split(",") if f],
                "entities": spans,
            }
        )
    return rows


def compose(
    texts: Sequence[str],
    classifications: Sequence[Classification],
    customer: Mapping[int, Mapping[str, Any]],
    inbound_models: Mapping[str, str],
    analysis_models: Mapping[str, str],
) -> list[Analysis]:
    """One Analysis per text; ``customer`` holds the analysis of the inbound texts by index."""
    answers = []
    for i, (text, c) in enumerate(zip(texts, classifications, strict=True)):
        base = {
            "inbound": c.inbound,
            "inbound_probability": c.inbound_probability,
            "masked_text": mask_pii(text),
            "shadow": c.shadow,
        }
        found = customer.get(i)
        if not c.inbound or found is None:  # brand replies skip the customer analysis
            answers.append(Analysis(**base, needs_ticket=False, models=dict(inbound_models)))
            continue
        answers.append(
            Analysis(
                **base,
                sentiment=found["sentiment"],
                sentiment_score=found["sentiment_score"],
                category=found["category"],
                category_confidence=found["category_confidence"],
                entities=[Entity(**span) for span in found["entities"]],
                language=found["language"],
                flags=list(found["flags"]),
                needs_ticket=needs_ticket(
                    True, found["flags"], found["category"], found["sentiment"]
                ),
                models={**inbound_models, **analysis_models},
            )
        )
    return answers
