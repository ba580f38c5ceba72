"""Drafted acknowledgements: per category, short, never echoing personal data, gated."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tweetcare.core.errors import UserError
from tweetcare.core.schemas import CATEGORIES, Analysis, Entity
from tweetcare.core.settings import Settings
from tweetcare.tickets.models import AUTO, PENDING
from tweetcare.tickets.replies import ReplyTemplates, draft_reply, load_replies

TICKET = "#10482"
GATE = {"min_inbound_probability": 0.9, "min_category_confidence": 0.8}
GATE |= {"hold_priorities": ["urgent"], "require_sentiment": True, "max_chars": 280}


def analysis(**changes: object) -> Analysis:
    fields: dict[str, object] = {
        "inbound": True,
        "inbound_probability": 0.97,
        "sentiment": "negative",
        "sentiment_score": -0.6,
        "category": "delivery",
        "category_confidence": 0.93,
        "entities": [Entity(start=20, end=30, label="ORDER_ID", text="#112-99812")],
        "needs_ticket": True,
        "masked_text": "@AmazonHelp order #112-99812 missing, call me on <phone>",
    }
    return Analysis.model_validate(fields | changes)


@pytest.fixture(scope="module")
def templates() -> ReplyTemplates:
    return load_replies(Settings().replies_config)


def test_every_category_has_a_short_acknowledgement_with_the_ticket_number(
    templates: ReplyTemplates,
) -> None:
    texts = {category: templates.render(category, TICKET) for category in CATEGORIES}
    assert len(set(texts.values())) == len(CATEGORIES)  # one template per category
    for text in texts.values():
        assert TICKET in text and len(text) < 280
        assert "\n" not in text and "  " not in text


def test_a_confident_draft_goes_out_automatically(templates: ReplyTemplates) -> None:
    draft = draft_reply(templates, analysis(), "delivery", "normal", TICKET)
    assert draft.decision == AUTO and draft.reasons == []
    assert "#112-99812" not in draft.text and "<phone>" not in draft.text


@pytest.mark.parametrize(
    ("changes", "priority", "reason"),
    [
        ({"category_confidence": 0.55}, "normal", "category confidence 0.55 < 0.80"),
        ({"category_confidence": None}, "normal", "category confidence none"),
        ({"inbound_probability": 0.6}, "normal", "inbound probability 0.60 < 0.90"),
        ({"sentiment": None, "sentiment_score": None}, "normal", "no sentiment"),
        ({}, "urgent", "priority urgent always gets a human look"),
        ({"flags": ["spam"]}, "normal", "flagged: spam"),
    ],
)
def test_the_gate_holds_what_is_not_confident(
    templates: ReplyTemplates, changes: dict, priority: str, reason: str
) -> None:
    draft = draft_reply(templates, analysis(**changes), "delivery", priority, TICKET)
    assert draft.decision == PENDING
    assert any(r.startswith(reason) for r in draft.reasons), draft.reasons


def test_a_reply_that_would_repeat_an_entity_is_held() -> None:
    rules = {"default": "Ticket {ticket_number}: we will look at London", "gate": GATE}
    templates = ReplyTemplates.model_validate(rules)
    london = Entity(start=0, end=6, label="LOCATION", text="London")
    draft = draft_reply(templates, analysis(entities=[london]), "travel", "normal", TICKET)
    assert draft.decision == PENDING
    assert draft.reasons == ["the reply repeats the tweet's LOCATION"]


def test_a_template_with_a_phone_number_never_goes_out_alone() -> None:
    rules = {"default": "Ticket {ticket_number}: call +44 20 7946 0958", "gate": GATE}
    templates = ReplyTemplates.model_validate(rules)
    draft = draft_reply(templates, analysis(), "travel", "normal", TICKET)
    assert "the reply contains a phone number or an email" in draft.reasons


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("Hi {customer}, ticket {ticket_number}", "no other field"),  # would echo the tweet
        ("We are on it", "must use {ticket_number}"),
        ("{ticket_number} " + "x" * 280, "renders to"),
    ],
)
def test_unsafe_templates_are_refused_when_loaded(
    tmp_path: Path, template: str, message: str
) -> None:
    path = tmp_path / "replies.yaml"
    path.write_text(
        yaml.safe_dump(
            {"default": "ok {ticket_number}", "by_category": {"billing": template}, "gate": GATE}
        )
    )
    with pytest.raises(UserError, match=message):
        load_replies(path)
