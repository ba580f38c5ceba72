"""Minimum functionality: plain tweets any competent champion must get right.

Categories are names from `tweetcare.core.schemas.CATEGORIES`; a brand reply is outbound.
"""

from __future__ import annotations

import json

import pytest

from tests.model.conftest import Predict
from tweetcare.core.schemas import CATEGORIES

pytestmark = pytest.mark.model


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@AmazonHelp I would like a refund please", "billing"),
        ("@AmazonHelp I was charged twice this month, I want my money back", "billing"),
        ("@AmazonHelp my package never arrived", "delivery"),
        ("@UPSHelp tracking says delivered but there is no parcel at my door", "delivery"),
        ("@AppleSupport the app keeps crashing", "technical"),
        ("@SpotifyCares the app keeps crashing every time I open it", "technical"),
    ],
)
def test_a_plain_complaint_gets_its_category(category: Predict, text: str, expected: str) -> None:
    assert expected in CATEGORIES
    assert category([text])["category"].iloc[0] == expected


@pytest.mark.parametrize(
    "text",
    [
        "@AmazonHelp my package never arrived and nobody will tell me where it is",
        "@AmazonHelp I was charged twice this month, I want my money back",
        "@AppleSupport my phone won't turn on since the update",
    ],
)
def test_a_customer_complaint_is_inbound(inbound: Predict, text: str) -> None:
    assert bool(inbound([text])["inbound"].iloc[0]) is True


@pytest.mark.parametrize(
    "text",
    [
        "Sorry to hear that! Please DM us your order number ^JK",
        "@john_smith Sorry to hear that! Please DM us your order number ^JK",
        "@dave99 Sorry about that, please DM us and we'll take a look *TM",
        "We're sorry for the trouble. Can you DM us the email on your account? ^MR",
    ],
)
def test_a_brand_reply_is_outbound(inbound: Predict, text: str) -> None:
    assert bool(inbound([text])["inbound"].iloc[0]) is False


@pytest.mark.parametrize(
    ("text", "order_id"),
    [
        ("@AmazonHelp where is my order #1234567? it was due monday", "#1234567"),
        ("@AmazonHelp order #1234567 never arrived", "#1234567"),
        ("@AmazonHelp my order 112-1234567-1234567 never arrived", "112-1234567-1234567"),
        ("@AmazonHelp order W123456789 was cancelled without telling me", "W123456789"),
    ],
)
def test_an_order_number_is_an_order_id(entities: Predict, text: str, order_id: str) -> None:
    found = json.loads(entities([text])["entities"].iloc[0])
    spans = [(e["label"], e["text"], text[e["start"] : e["end"]]) for e in found]
    assert ("ORDER_ID", order_id, order_id) in spans, f"{text!r}: {found}"
