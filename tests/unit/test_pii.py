"""Phone numbers and emails are found and masked; ids, amounts and times are left alone."""

from __future__ import annotations

import json

import pytest

from tweetcare.core.pii import EMAIL, MASKS, PHONE, find_pii, mask_pii, mask_value
from tweetcare.data.generator import generate


@pytest.mark.parametrize(
    "phone",
    ["(949) 044-8562", "855-741-8038", "+1 571 617 7746", "07658 779621", "+44 7895 219875"],
)
def test_phone_formats_are_found_whole(phone: str) -> None:
    text = f"@Help call me on {phone} please"
    assert [(s.label, text[s.start : s.end]) for s in find_pii(text)] == [(PHONE, phone)]


@pytest.mark.parametrize(
    "text",
    [
        "order 123-1234567-1234567 is late",
        "order W123456789 and CAS-12345678",
        "charged $1,234.56 and £45.20 on 21/10/17",
        "the 06:20 from Euston, flight DL 1234, ticket #1234567",
        "iOS 11.1.2 and error 404",
    ],
)
def test_ids_amounts_and_times_are_not_phone_numbers(text: str) -> None:
    assert find_pii(text) == []


def test_emails_are_masked_but_handles_are_not() -> None:
    text = "@AmazonHelp mail jo.smith+tw@gmail.com or call 855-741-8038."
    masked = mask_pii(text)
    assert masked == f"@AmazonHelp mail {MASKS[EMAIL]} or call {MASKS[PHONE]}."
    assert "gmail" not in masked and "8038" not in masked


def test_text_without_pii_is_unchanged() -> None:
    text = "@SpotifyCares the app crashes &amp; I lose my playlist 😡"
    assert mask_pii(text) == text


def test_mask_value_only_hides_personal_labels() -> None:
    assert mask_value(PHONE, "855-741-8038") == MASKS[PHONE]
    assert mask_value(EMAIL, "a@b.com") == MASKS[EMAIL]
    assert mask_value("ORDER_ID", "#1234567") == "#1234567"


def test_finds_every_generated_phone_and_email_exactly() -> None:
    tweets, labels = generate(3000, seed=5)
    gold, found = set(), set()
    for i, (text, cell) in enumerate(zip(tweets["text"], labels["entities"], strict=True)):
        gold |= {
            (i, e["start"], e["end"], e["label"])
            for e in json.loads(cell)
            if e["label"] in (PHONE, EMAIL)
        }
        found |= {(i, s.start, s.end, s.label) for s in find_pii(text)}
    assert gold, "the generator should write phone numbers and emails"
    # a typo may glue a word onto an email ("i sdavid@..."): allow a sliver of disagreement
    assert len(gold & found) >= 0.98 * len(gold)
    assert len(found - gold) <= 0.02 * len(found)
