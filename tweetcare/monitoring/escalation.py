"""Escalation alerts as a pure function: the stream's last window against its recent history.

Customer tweets are counted per key in fixed windows of event time (`time_column`, the tweets'
own `created_at`), so a replay or a backlog that the stream processes faster than real time keeps
its history where it happened instead of piling it into the last window. The keys: complaints
per brand and category and per category alone (many similar complaints), technical complaints
with outage words per brand (an outage), tweets per conversation (a viral thread).

A key alerts when its count in the last window is at least the kind's minimum and above
mean + k * max(std, sqrt(mean), min_std) of its counts in the history windows the stream was
seen in (a window without a single tweet is before the stream started or while it was down,
not a quiet one): a rolling baseline, so a brand that is always busy does not alert for being
busy. With fewer than `min_history` such windows there is no baseline and nothing alerts.
Tweets whose brand is not resolved never form a brand scope, and a category-wide spike is
judged on the complaints that no brand's own alert and no viral thread already explains (one
brand's outage must not raise every brand's tickets in its category).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from tweetcare.monitoring.config import EscalationParams
from tweetcare.monitoring.features import UNKNOWN_BRAND

# brand values that name no brand: the stream's placeholder, or nothing
NO_BRAND = (UNKNOWN_BRAND, "")
_WINDOW = "_window"


@dataclass(frozen=True)
class Alert:
    """One escalation: what spiked, by how much, and the tweets that make the spike."""

    kind: str
    key: dict[str, str]
    window_start: datetime
    window_end: datetime
    count: int
    baseline_mean: float
    baseline_std: float
    threshold: float
    tweet_ids: list[str] = field(default_factory=list)

    @property
    def alert_id(self) -> str:
        """The same spike in the same window always gets the same id (republishing is safe)."""
        key = ",".join(f"{k}={v}" for k, v in sorted(self.key.items()))
        text = f"{self.kind}|{key}|{self.window_start.isoformat()}"
        return "AL-" + hashlib.sha1(text.encode()).hexdigest()[:12].upper()

    def to_message(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(
            type="escalation",
            alert_id=self.alert_id,
            window_start=self.window_start.isoformat(),
            window_end=self.window_end.isoformat(),
            brand=self.key.get("brand"),
            category=self.key.get("category"),
            conversation_id=self.key.get("conversation_id"),
        )
        return out


@dataclass(frozen=True)
class Windows:
    """Rows cut into windows of event time: 0 is the judged one, (end - window, end]; 1 ..
    `history` the ones before it, of which `observed` held at least one tweet."""

    rows: pd.DataFrame
    observed: list[int]
    start: datetime
    end: datetime


def cut_windows(
    tweets: pd.DataFrame, params: EscalationParams, end: datetime | None = None
) -> Windows | None:
    """The rows of the judged window and its history, ending at `end` (default: the latest
    tweet); None without a single timed tweet. A row without a time is in no window."""
    times = pd.to_datetime(tweets[params.time_column], utc=True, errors="coerce")
    if times.isna().all():
        return None
    end_ts = pd.Timestamp(end) if end is not None else times.max()
    width = pd.Timedelta(params.window)
    index = np.floor((end_ts - times) / width).fillna(-1).astype("int64")
    rows = tweets.assign(**{_WINDOW: index.to_numpy()})
    rows = rows[(rows[_WINDOW] >= 0) & (rows[_WINDOW] <= params.history)]
    observed = sorted(int(w) for w in set(rows[_WINDOW]) if w > 0)
    return Windows(rows, observed, (end_ts - width).to_pydatetime(), end_ts.to_pydatetime())


def detect(
    tweets: pd.DataFrame, params: EscalationParams, end: datetime | None = None
) -> list[Alert]:
    """Alerts for the window ending at `end` (default: the latest tweet) over lake rows with
    `inbound` or `predicted_inbound`, `brand`, `category`, `conversation_id`, `text` and the
    event-time column `params.time_column`."""
    if tweets.empty:
        return []
    windows = cut_windows(tweets, params, end)
    if windows is None or len(windows.observed) < params.min_history:
        return []
    frame = windows.rows
    customer = frame[_customer(frame)]
    complaints = customer[customer["category"].isin(params.complaint_categories)]
    outage = complaints[
        complaints["category"].isin(params.outage_categories)
        & complaints["text"].fillna("").str.contains(_words(params.outage_words))
    ]
    threads = _spikes(frame, "viral_thread", ["conversation_id"], params, windows)
    # a category-wide spike is what neither a thread nor one brand's spike already explains
    complaints = _unexplained(complaints, threads)
    brands = _spikes(complaints, "complaints", ["brand", "category"], params, windows)
    complaints = _unexplained(complaints, brands)
    categories = _spikes(complaints, "complaints", ["category"], params, windows)
    outages = _spikes(outage, "outage", ["brand"], params, windows)
    return [*brands, *categories, *outages, *threads]


def _spikes(
    rows: pd.DataFrame,
    kind: str,
    keys: list[str],
    params: EscalationParams,
    windows: Windows,
) -> list[Alert]:
    rows = _scoped(rows, keys)
    current = rows[rows[_WINDOW] == 0]
    if current.empty:
        return []
    counts = rows.groupby([*keys, _WINDOW]).size().unstack(_WINDOW)
    counts = counts.reindex(columns=[0, *windows.observed], fill_value=0).fillna(0)
    history = counts.loc[:, windows.observed]
    mean, std = history.mean(axis=1), history.std(axis=1, ddof=0).fillna(0.0)
    # counts are at least as noisy as a Poisson count (std = sqrt(mean)): twelve quiet windows
    # can understate the spread of a busy key
    spread = np.maximum(np.maximum(std, np.sqrt(mean)), params.min_std)
    threshold = mean + params.k * spread
    now = counts[0]
    hit = (now >= params.min_count.get(kind, 1)) & (now > threshold)
    out = []
    for key in counts.index[hit]:
        values = key if isinstance(key, tuple) else (key,)
        match = np.logical_and.reduce([current[k] == v for k, v in zip(keys, values, strict=True)])
        ids = current.loc[match, "tweet_id"].astype(str).tolist()[: params.max_tweet_ids]
        out.append(
            Alert(
                kind=kind,
                key={k: str(v) for k, v in zip(keys, values, strict=True)},
                window_start=windows.start,
                window_end=windows.end,
                count=int(now[key]),
                baseline_mean=float(mean[key]),
                baseline_std=float(std[key]),
                threshold=float(threshold[key]),
                tweet_ids=ids,
            )
        )
    return out


def _scoped(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The rows that have every key; a brand key needs a resolved brand (an unresolved one is
    many unrelated customers, not one brand's)."""
    rows = rows.dropna(subset=keys)
    if "brand" in keys:
        rows = rows[~rows["brand"].astype(str).str.strip().isin(NO_BRAND)]
    return rows


def _unexplained(rows: pd.DataFrame, alerts: list[Alert]) -> pd.DataFrame:
    """The rows no alert's scope covers: a wider key is judged on these alone, so one brand's
    burst does not also raise every brand's tickets in its category."""
    if not alerts or rows.empty:
        return rows
    covered = np.logical_or.reduce(
        [
            np.logical_and.reduce([rows[k].astype(str) == v for k, v in a.key.items()])
            for a in alerts
        ]
    )
    return rows[~np.asarray(covered, dtype=bool)]


def _customer(frame: pd.DataFrame) -> pd.Series:
    """Customer tweets by the model's decision (the lake always has it), else the source flag."""
    column = "predicted_inbound" if "predicted_inbound" in frame else "inbound"
    return frame[column].fillna(False).astype(bool)


def _words(words: list[str]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)
