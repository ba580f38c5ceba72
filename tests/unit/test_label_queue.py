"""The Label queue's order: disagreements first, then the two doubts (category confidence,
sentiment near a class boundary) in turn; customer tweets only, each once, none labelled twice."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from tweetcare.ui.data import boundary_distance, label_queue

BOUNDS = (-0.05, 0.05)


def lake(*rows: dict[str, Any], shadow: bool = True) -> pd.DataFrame:
    """Lake rows: a sure customer tweet unless a row says otherwise."""
    base = {
        "conversation_id": "c",
        "inbound": True,
        "text": "@AmazonHelp where is my order",
        "category": "delivery",
        "category_confidence": 0.99,
        "sentiment": "negative",
        "sentiment_score": -0.9,
        "needs_ticket": True,
        "predicted_inbound": True,
        "shadow_inbound": True,
    }
    frame = pd.DataFrame([base | row for row in rows])
    return frame if shadow else frame.drop(columns=["predicted_inbound", "shadow_inbound"])


def order(frame: pd.DataFrame, labelled: tuple[str, ...] = ()) -> list[str]:
    return label_queue(frame, labelled, BOUNDS)["tweet_id"].tolist()


def test_the_distance_is_to_the_nearest_boundary() -> None:
    assert boundary_distance(0.0, BOUNDS) == pytest.approx(0.05)
    assert boundary_distance(-0.3, BOUNDS) == pytest.approx(0.25)
    assert boundary_distance(0.06, BOUNDS) == pytest.approx(0.01)
    assert math.isnan(boundary_distance(None, BOUNDS))
    assert math.isnan(boundary_distance(float("nan"), BOUNDS))


def test_the_two_doubts_take_turns_by_rank_not_by_scale() -> None:
    frame = lake(
        {"tweet_id": "sure"},
        # the least sure category (rank 1 of 4) and the score nearest a boundary (rank 1)
        {"tweet_id": "unsure-category", "category_confidence": 0.40},
        {"tweet_id": "near-boundary", "sentiment_score": 0.06},
        # second on both: after both firsts, whatever the raw figures
        {"tweet_id": "second", "category_confidence": 0.41, "sentiment_score": 0.2},
    )
    assert order(frame) == ["near-boundary", "unsure-category", "second", "sure"]


def test_a_disagreement_comes_first_and_says_so() -> None:
    frame = lake(
        {"tweet_id": "unsure", "category_confidence": 0.2, "sentiment_score": 0.05},
        {"tweet_id": "disputed", "shadow_inbound": False},
    )
    queue = label_queue(frame, (), BOUNDS)
    assert queue["tweet_id"].tolist() == ["disputed", "unsure"]
    assert queue["disagrees"].tolist() == [True, False]
    assert queue.loc[0, "reason"].startswith("the challenger disagrees: it reads a brand's tweet")
    assert "category delivery 20% sure" in queue.loc[1, "reason"]
    assert "sentiment negative +0.05, 0.00 from a class boundary" in queue.loc[1, "reason"]


def test_without_shadow_answers_nothing_disagrees() -> None:
    frame = lake({"tweet_id": "b", "category_confidence": 0.5}, {"tweet_id": "a"}, shadow=False)
    queue = label_queue(frame, (), BOUNDS)
    assert queue["tweet_id"].tolist() == ["b", "a"]
    assert not queue["disagrees"].any()


def test_labelled_brand_and_undoubted_tweets_are_not_offered() -> None:
    frame = lake(
        {"tweet_id": "1", "category_confidence": 0.3},
        {"tweet_id": "2", "category_confidence": 0.3},
        {"tweet_id": "brand", "inbound": False, "category_confidence": 0.1},
        # the champion read a brand's tweet and the challenger agrees: no figure to doubt
        {
            "tweet_id": "no-figures",
            "category_confidence": None,
            "sentiment_score": None,
            "predicted_inbound": False,
            "shadow_inbound": False,
        },
    )
    assert order(frame, labelled=("2",)) == ["1"]


def test_a_tweet_the_lake_holds_twice_is_offered_once() -> None:
    frame = lake({"tweet_id": "7", "category_confidence": 0.9}, {"tweet_id": "7"})
    assert order(frame) == ["7"]


def test_an_empty_lake_gives_an_empty_queue() -> None:
    assert label_queue(lake({"tweet_id": "x"}).iloc[0:0], (), BOUNDS).empty
