"""Test streams in the lake's shape, built from the generator's public API: a steady stream,
one whose language or category mix shifts halfway, a burst of similar complaints for one brand
(an outage) or spread over every brand (a category-wide spike), and one thread that grows fast
(a viral thread).

The generator's labels stand in for the models' answers (a perfect model), confidences are
drawn from fixed Beta distributions, and the rows are laid on an even timeline from `start`, as
`processed_at` and `created_at`, so the monitor's windows can cut them.
"""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime, timedelta
from functools import cache

import numpy as np
import pandas as pd

from tweetcare.core.conversations import conversation_ids
from tweetcare.data.generator import generate
from tweetcare.monitoring.features import brand_of

START = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
# how many generated tweets a scenario draws its special rows from, per row it asks for
POOL_FACTOR = 4
# generated tweets (times POOL_FACTOR) at least, that a burst's similar complaints come from
BURST_POOL_ROWS = 2000
SHIFT_LANGUAGE_SHARE = 0.4  # customer tweets not in English after a language shift
SHIFT_CATEGORY = "technical"
SHIFT_CATEGORY_SHARE = 0.7  # customer tweets in SHIFT_CATEGORY after a category shift
_OUTAGE = re.compile(
    r"\b(?:outage|down|not working|no service|no signal|offline|crash)", re.IGNORECASE
)


def steady_stream(
    rows: int, seed: int, start: datetime = START, minutes: float = 60.0
) -> pd.DataFrame:
    """`rows` tweets with the generator's usual mix, evenly spread over `minutes`."""
    return _timeline(_sample(_pool(rows, seed), rows, seed), start, minutes)


def shifted_stream(
    rows: int, seed: int, shift: str, start: datetime = START, minutes: float = 60.0
) -> pd.DataFrame:
    """Steady for the first half; in the second, `shift` = `language` makes 40% of customer
    tweets non-English, `category` makes 70% of them technical complaints."""
    pool = _pool(rows * POOL_FACTOR, seed)
    first = _sample(pool, rows // 2, seed)
    rest = pool.drop(first.index)
    customer = rest["inbound"]
    if shift == "language":
        special, share = rest[customer & (rest["language"] != "en")], SHIFT_LANGUAGE_SHARE
    elif shift == "category":
        special, share = rest[customer & (rest["category"] == SHIFT_CATEGORY)], SHIFT_CATEGORY_SHARE
    else:
        raise ValueError(f"unknown shift {shift!r}: language or category")
    half = rows - len(first)
    n_special = int(half * customer.mean() * share)
    second = pd.concat(
        [
            _sample(special, n_special, seed + 1),
            _sample(rest.drop(special.index), half - n_special, seed + 2),
        ]
    )
    second = second.sample(frac=1.0, random_state=seed + 3)
    return _timeline(pd.concat([first, second]), start, minutes, shuffle=False)


def burst_stream(
    rows: int,
    seed: int,
    brand: str = "TelcoNetHelp",
    category: str = "technical",
    burst: int = 60,
    start: datetime = START,
    minutes: float = 65.0,
    burst_minutes: float = 4.0,
) -> pd.DataFrame:
    """A steady stream plus `burst` customer complaints to `brand` in `category` (outage words
    first) in its last `burst_minutes`: many similar complaints in a short time."""
    background = steady_stream(rows, seed, start, minutes)
    end = start + timedelta(minutes=minutes)
    chosen = burst_complaints(
        burst,
        seed,
        brand,
        category,
        start=end - timedelta(minutes=burst_minutes),
        minutes=burst_minutes,
        pool_rows=max(rows, BURST_POOL_ROWS),
    )
    return _ordered(pd.concat([background, chosen]))


def category_burst_stream(
    rows: int,
    seed: int,
    category: str = "billing",
    burst: int = 60,
    start: datetime = START,
    minutes: float = 65.0,
    burst_minutes: float = 4.0,
) -> pd.DataFrame:
    """A steady stream plus `burst` customer complaints in `category` to every brand that gets
    them (a few each) in its last `burst_minutes`: many similar complaints, no one brand's."""
    background = steady_stream(rows, seed, start, minutes)
    pool = _pool(max(rows, BURST_POOL_ROWS) * POOL_FACTOR, seed + 13)
    similar = pool[pool["inbound"] & (pool["category"] == category)]
    chosen = _sample(similar, burst, seed + 14)
    end = start + timedelta(minutes=minutes)
    chosen = _timeline(chosen, end - timedelta(minutes=burst_minutes), burst_minutes)
    chosen["tweet_id"] = [f"spread-{seed}-{i}" for i in range(len(chosen))]
    chosen["conversation_id"] = chosen["tweet_id"]
    return _ordered(pd.concat([background, chosen]))


def burst_complaints(
    burst: int,
    seed: int,
    brand: str = "TelcoNetHelp",
    category: str = "technical",
    start: datetime = START,
    minutes: float = 4.0,
    pool_rows: int = BURST_POOL_ROWS,
) -> pd.DataFrame:
    """The burst alone: `burst` customer complaints to `brand` in `category` (outage words
    first), evenly over `minutes` from `start`, each its own conversation (`burst-<seed>-<i>`),
    so a stream can be composed around it (the demo's live hour)."""
    pool = _pool(pool_rows * POOL_FACTOR, seed + 7)
    similar = pool[pool["inbound"] & (pool["brand"] == brand) & (pool["category"] == category)]
    outage = similar[similar["text"].str.contains(_OUTAGE)]
    chosen = _sample(outage if len(outage) else similar, burst, seed + 8)
    chosen = _timeline(chosen, start, minutes)
    chosen["tweet_id"] = [f"burst-{seed}-{i}" for i in range(len(chosen))]
    chosen["conversation_id"] = chosen["tweet_id"]
    return chosen


def viral_stream(
    rows: int,
    seed: int,
    replies: int = 40,
    start: datetime = START,
    minutes: float = 65.0,
    burst_minutes: float = 4.0,
) -> pd.DataFrame:
    """A steady stream in which one conversation gets `replies` customer tweets from different
    people in its last `burst_minutes`: a thread going viral."""
    background = steady_stream(rows, seed, start, minutes)
    root = background[background["inbound"]].iloc[0]
    pool = _pool(max(rows, 1000), seed + 11)
    chosen = _sample(pool[pool["inbound"]], replies, seed + 12)
    end = start + timedelta(minutes=minutes)
    chosen = _timeline(chosen, end - timedelta(minutes=burst_minutes), burst_minutes)
    chosen["tweet_id"] = [f"viral-{seed}-{i}" for i in range(len(chosen))]
    chosen["conversation_id"] = root["conversation_id"]
    chosen["brand"] = root["brand"]
    return _ordered(pd.concat([background, chosen]))


def _pool(rows: int, seed: int) -> pd.DataFrame:
    return _lake_rows(rows, seed).copy()


@cache
def _lake_rows(rows: int, seed: int) -> pd.DataFrame:
    """Generated tweets as lake rows (labels as predictions), cached: tests reuse pools."""
    tweets, labels = generate(rows, seed)
    frame = tweets.merge(labels, on="tweet_id", how="left")
    inbound = frame["inbound"].astype(bool)
    rng = np.random.default_rng(seed)
    p_inbound = np.where(inbound, rng.beta(12, 1, len(frame)), rng.beta(1, 12, len(frame)))
    out = pd.DataFrame(
        {
            "tweet_id": frame["tweet_id"].astype("string"),
            "conversation_id": conversation_ids(
                frame["tweet_id"], frame["in_response_to_tweet_id"]
            ),
            "author_id": frame["author_id"].astype("string"),
            "inbound": inbound,
            "predicted_label": np.where(inbound, "inbound", "outbound"),
            "predicted_inbound": inbound,
            "probability": np.where(inbound, p_inbound, 1.0 - p_inbound),
            "inbound_probability": p_inbound,
            "sentiment": frame["sentiment"].where(inbound),
            "category": frame["category"].where(inbound),
            "category_confidence": np.where(inbound, rng.beta(6, 2, len(frame)), np.nan),
            "language": _languages(frame["text"], frame["flag"].fillna("")),
            "needs_ticket": frame["needs_ticket"].astype(bool),
            "text": frame["text"],
            "brand": brand_of(frame["text"], frame["author_id"], inbound),
        }
    )
    return out


def _languages(text: pd.Series, flag: pd.Series) -> list[str]:
    """`en`, except tweets the generator wrote in another language (detected, seeded)."""
    from langdetect import DetectorFactory, detect

    DetectorFactory.seed = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # langdetect reads its profiles so
        return [detect(t) if f == "not_english" else "en" for t, f in zip(text, flag, strict=True)]


def _sample(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    """`rows` rows of `frame`, without replacement while it has enough."""
    if rows <= 0 or frame.empty:
        return frame.iloc[:0]
    return frame.sample(n=rows, replace=rows > len(frame), random_state=seed)


def _timeline(
    frame: pd.DataFrame, start: datetime, minutes: float, shuffle: bool = True
) -> pd.DataFrame:
    """Rows evenly spread over [start, start + minutes); new ids where a row repeats."""
    out = frame.sample(frac=1.0, random_state=0) if shuffle else frame.copy()
    out = out.reset_index(drop=True)
    step = minutes * 60.0 / max(len(out), 1)
    times = pd.Timestamp(start) + pd.to_timedelta(np.arange(len(out)) * step, unit="s")
    out["created_at"] = times
    out["processed_at"] = times
    out["date"] = times.strftime("%Y-%m-%d")
    repeat = out["tweet_id"].duplicated()
    out.loc[repeat, "tweet_id"] = [f"{t}-r{i}" for i, t in enumerate(out.loc[repeat, "tweet_id"])]
    return out


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("processed_at", kind="stable").reset_index(drop=True)
