"""Directional: words with a clear sentiment move the sentiment score only their way.

The score is the champion's `sentiment_score` in [-1, 1]; an angry addition must not raise it,
a grateful one must not lower it (unchanged passes: a word the model never saw moves nothing).
"""

from __future__ import annotations

import pytest

from tests.model.conftest import Predict

pytestmark = pytest.mark.model

TWEETS = {
    "parcel": "@AmazonHelp my package never arrived",
    "crash": "@AppleSupport the app keeps crashing",
    "refund": "@AmazonHelp I want a refund for my order",
    "delay": "@Delta flight DL123 delayed again, stuck at JFK for 4 hours",
    "question": "@AmazonHelp how do I update the card on my account?",
}
ANGRY = ["I am furious", "This is unacceptable"]
GRATEFUL = ["thank you so much, great help"]


def scores(sentiment: Predict, texts: list[str]) -> list[float]:
    return sentiment(texts)["sentiment_score"].tolist()


@pytest.mark.parametrize("addition", ANGRY)
@pytest.mark.parametrize("tweet", TWEETS)
def test_an_angry_addition_does_not_raise_the_sentiment(
    sentiment: Predict, tweet: str, addition: str
) -> None:
    original = TWEETS[tweet]
    edited = f"{original}. {addition}"
    before, after = scores(sentiment, [original, edited])
    assert after <= before, f"{edited!r} scores {after:.3f}, above {original!r} ({before:.3f})"


@pytest.mark.parametrize("addition", GRATEFUL)
@pytest.mark.parametrize("tweet", TWEETS)
def test_a_grateful_addition_does_not_lower_the_sentiment(
    sentiment: Predict, tweet: str, addition: str
) -> None:
    original = TWEETS[tweet]
    edited = f"{original}. {addition}"
    before, after = scores(sentiment, [original, edited])
    assert after >= before, f"{edited!r} scores {after:.3f}, below {original!r} ({before:.3f})"
