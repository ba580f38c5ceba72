"""Label queue: the customer tweets whose labels would teach the models most, first.

Active learning by uncertainty: a label is worth most where the models doubt their answer. The
lake keeps each tweet's category confidence and sentiment score, and, while a challenger is
scored in shadow, both models' inbound answers; the queue is ordered from those alone.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

import pandas as pd

# what the queue reads from the lake's tweets table; the shadow columns only where it has them
LAKE_COLUMNS: tuple[str, ...] = (
    "tweet_id",
    "conversation_id",
    "inbound",
    "text",
    "category",
    "category_confidence",
    "sentiment",
    "sentiment_score",
    "needs_ticket",
)
SHADOW_COLUMNS: tuple[str, ...] = ("predicted_inbound", "shadow_inbound")
# VADER's convention (params.yaml analysis.vader_threshold): beyond +-this, positive/negative
DEFAULT_BOUNDARY = 0.05


def boundary_distance(score: float | None, boundaries: Sequence[float]) -> float:
    """How far a sentiment score lies from the nearest class boundary (NaN without a score)."""
    if score is None or pd.isna(score) or not boundaries:
        return math.nan
    return min(abs(float(score) - b) for b in boundaries)


def label_queue(
    tweets: pd.DataFrame,
    labelled: Collection[str],
    boundaries: Sequence[float] = (-DEFAULT_BOUNDARY, DEFAULT_BOUNDARY),
) -> pd.DataFrame:
    """Customer tweets (the source's `inbound` flag) nobody labelled yet, the most useful first:

    1. where the challenger's inbound answer differs from the champion's (two models disagree);
    2. then by the two doubts taken in turn: each tweet's rank among the lowest category
       confidences and among the sentiment scores nearest a class boundary (`boundaries`), the
       better of its two ranks first, then the other, then the tweet id. Ranks, not the raw
       figures, so neither scale swamps the other.

    A tweet with no confidence, no score and no disagreement is left out: nothing says the
    models doubt it. One row per tweet (the latest, should the lake hold one twice), with
    `disagrees`, `boundary_distance` and `reason` (why it is offered, in words) added.
    """
    frame = tweets.drop_duplicates("tweet_id", keep="last")
    frame = frame[frame["inbound"].astype("boolean").fillna(False)]
    frame = frame[~frame["tweet_id"].astype(str).isin({str(t) for t in labelled})].copy()
    frame["disagrees"] = _disagrees(frame)
    frame["boundary_distance"] = [
        boundary_distance(score, boundaries) for score in frame["sentiment_score"]
    ]
    confidence = pd.to_numeric(frame["category_confidence"], errors="coerce")
    doubted = confidence.notna() | frame["boundary_distance"].notna() | frame["disagrees"]
    frame = frame[doubted]
    confidence = confidence[doubted]
    by_category = confidence.rank(method="min", na_option="keep").fillna(math.inf)
    by_sentiment = frame["boundary_distance"].rank(method="min").fillna(math.inf)
    frame = frame.assign(
        _first=pd.concat([by_category, by_sentiment], axis=1).min(axis=1),
        _second=pd.concat([by_category, by_sentiment], axis=1).max(axis=1),
        _id=frame["tweet_id"].astype(str),
        _agree=~frame["disagrees"],
    )
    frame["reason"] = [_reason(row) for row in frame.itertuples()]
    ordered = frame.sort_values(["_agree", "_first", "_second", "_id"], kind="stable")
    return ordered.drop(columns=["_first", "_second", "_id", "_agree"]).reset_index(drop=True)


def _disagrees(frame: pd.DataFrame) -> pd.Series:
    if not set(SHADOW_COLUMNS) <= set(frame.columns):
        return pd.Series(False, index=frame.index)
    champion, shadow = frame["predicted_inbound"], frame["shadow_inbound"]
    both = champion.notna() & shadow.notna()
    return both & (champion.astype("boolean") != shadow.astype("boolean")).fillna(False)


def _reason(row: object) -> str:
    parts = []
    if getattr(row, "disagrees", False):
        shadow = "a customer's" if getattr(row, "shadow_inbound", None) else "a brand's"
        parts.append(f"the challenger disagrees: it reads {shadow} tweet")
    confidence = getattr(row, "category_confidence", None)
    if confidence is not None and not pd.isna(confidence):
        parts.append(f"category {getattr(row, 'category', None) or '—'} {confidence:.0%} sure")
    score = getattr(row, "sentiment_score", None)
    if score is not None and not pd.isna(score):
        distance = getattr(row, "boundary_distance", math.nan)
        parts.append(
            f"sentiment {getattr(row, 'sentiment', None) or '—'} {score:+.2f}, "
            f"{distance:.2f} from a class boundary"
        )
    return " · ".join(parts)
