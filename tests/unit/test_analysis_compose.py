"""How /analyze composes its answer: brand replies skip analysis, PII is masked, the ticket rule."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from serving.analysis import compose, customer_fields, needs_ticket
from tweetcare.core.schemas import Analysis, Classification, ShadowScore

INBOUND = Classification(label="inbound", inbound=True, probability=0.9, inbound_probability=0.9)
OUTBOUND = Classification(label="outbound", inbound=False, probability=0.8, inbound_probability=0.2)
MODELS = {"tweet-inbound": "3 (run a)"}
ANALYSIS_MODELS = {"tweet-sentiment": "1 (run b)", "tweet-category": "2 (run c)"}


@pytest.mark.parametrize(
    ("flags", "category", "sentiment", "expected"),
    [
        ([], "delivery", "negative", True),
        ([], "billing", "neutral", True),
        ([], "billing", "positive", False),  # a thank-you
        ([], "praise", "positive", False),
        ([], "other", "neutral", False),
        (["spam"], "billing", "negative", False),
        (["not_english"], "delivery", "negative", True),  # still a customer: language queue
        (["not_english", "spam"], "delivery", "negative", False),
        (["chatter"], "service", "neutral", False),
    ],
)
def test_ticket_rule(flags: list[str], category: str, sentiment: str, expected: bool) -> None:
    assert needs_ticket(True, flags, category, sentiment) is expected
    assert needs_ticket(False, flags, category, sentiment) is False


def model_frames(text: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    start = text.index("555")
    phone = {"start": start, "end": start + 12, "label": "PHONE", "text": text[start : start + 12]}
    order = {"start": 3, "end": 11, "label": "ORDER_ID", "text": text[3:11]}
    return (
        pd.DataFrame({"sentiment": ["negative"], "sentiment_score": [-1.7]}),
        pd.DataFrame(
            {
                "category": ["delivery"],
                "category_confidence": [0.8],
                "language": ["en"],
                "flags": [""],
            }
        ),
        pd.DataFrame({"entities": [json.dumps([order, phone])]}),
    )


def test_customer_tweet_gets_every_field_with_pii_masked() -> None:
    text = "@A #1234567 never came, call 555-123-4567"
    fields = customer_fields(*model_frames(text))
    brand = "@123 Sorry! Please DM us ^JK"
    answers = compose([text, brand], [INBOUND, OUTBOUND], {0: fields[0]}, MODELS, ANALYSIS_MODELS)
    customer, reply = answers
    assert isinstance(customer, Analysis)
    assert customer.sentiment == "negative" and customer.sentiment_score == -1.0  # clipped
    assert customer.category == "delivery" and customer.needs_ticket
    assert [(e.label, e.text) for e in customer.entities] == [
        ("ORDER_ID", "#1234567"),
        ("PHONE", "<phone>"),
    ]
    assert customer.masked_text == "@A #1234567 never came, call <phone>"
    assert customer.models == {**MODELS, **ANALYSIS_MODELS}
    # brand replies skip the customer analysis and name only the model that scored them
    assert reply.sentiment is None and reply.category is None and reply.entities == []
    assert reply.needs_ticket is False and reply.models == MODELS
    assert reply.masked_text == brand


def test_customer_fields_split_flags() -> None:
    sentiment, category, entities = model_frames("@A #1234567 call 555-123-4567")
    category.loc[0, "flags"] = "not_english,spam"
    (fields,) = customer_fields(sentiment, category, entities)
    assert fields["flags"] == ["not_english", "spam"]


def test_the_challengers_answer_rides_along_but_decides_nothing() -> None:
    shadow = ShadowScore(model_version="4", inbound=False, inbound_probability=0.3)
    text = "@A #1234567 never came, call 555-123-4567"
    fields = customer_fields(*model_frames(text))
    champion = INBOUND.model_copy(update={"shadow": shadow})
    reply = OUTBOUND.model_copy(update={"shadow": shadow.model_copy(update={"inbound": True})})
    customer, brand = compose(
        [text, "@123 Sorry! ^JK"], [champion, reply], {0: fields[0]}, MODELS, ANALYSIS_MODELS
    )
    # the champion's answer drives the analysis and the ticket; the challenger's is only kept
    assert customer.inbound and customer.needs_ticket and customer.shadow == shadow
    assert not brand.inbound and brand.category is None and brand.shadow.inbound is True
    plain = compose([text], [INBOUND], {0: fields[0]}, MODELS, ANALYSIS_MODELS)[0]
    assert plain.shadow is None
