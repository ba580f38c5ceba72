"""Invariance: edits that carry no meaning for the complaint leave its category as it was.

Each case is a tweet and an edited copy; the champion must put both in the same category,
whichever that is (the minimum functionality tests check the category itself).
"""

from __future__ import annotations

import pytest

from tests.model.conftest import Predict

pytestmark = pytest.mark.model

# one complaint per category, addressed to {brand}
COMPLAINTS = {
    "refund": "@{brand} I was charged twice for the same order and I want my money back",
    "parcel": "@{brand} my package never arrived and the tracking has not moved in a week",
    "crash": "@{brand} the app keeps crashing every time I open it",
}
# complaints that name a person, as {name}; each clearly of one category (a tweet on the border
# between two, such as a refund someone promised, is a coin toss that any edit may flip)
NAMED = {
    "hung-up": "@ComcastCares I spoke to {name} on the phone and got hung up on",
    "courier": "@UPSHelp your driver {name} left my parcel at the wrong address",
    "charged": "@AmazonHelp {name} from billing charged my card twice for one order",
}
URL = "https://t.co/a1B2c3D4e5"


def categories(category: Predict, texts: list[str]) -> list[str]:
    return category(texts)["category"].tolist()


def assert_same_category(category: Predict, original: str, edited: str) -> None:
    before, after = categories(category, [original, edited])
    assert after == before, f"{original!r} is {before} but {edited!r} is {after}"


@pytest.mark.parametrize("brand", ["Delta", "AppleSupport", "SpotifyCares", "UPSHelp"])
@pytest.mark.parametrize("complaint", COMPLAINTS)
def test_another_brand_handle_keeps_the_category(
    category: Predict, complaint: str, brand: str
) -> None:
    template = COMPLAINTS[complaint]
    assert_same_category(
        category, template.format(brand="AmazonHelp"), template.format(brand=brand)
    )


@pytest.mark.parametrize("name", ["Mohammed", "Priya", "Wei", "Olga"])
@pytest.mark.parametrize("complaint", NAMED)
def test_another_person_name_keeps_the_category(
    category: Predict, complaint: str, name: str
) -> None:
    template = NAMED[complaint]
    assert_same_category(category, template.format(name="Sarah"), template.format(name=name))


@pytest.mark.parametrize("tail", [URL, "😡", "🙏"], ids=["url", "angry-emoji", "pleading-emoji"])
@pytest.mark.parametrize("complaint", COMPLAINTS)
def test_a_trailing_link_or_emoji_keeps_the_category(
    category: Predict, complaint: str, tail: str
) -> None:
    text = COMPLAINTS[complaint].format(brand="AmazonHelp")
    assert_same_category(category, text, f"{text} {tail}")
