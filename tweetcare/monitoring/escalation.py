"""Escalation alerts as a pure function: the stream's last window against its recent history.

Customer tweets are counted per key in fixed windows: complaints per brand and category and per
category alone (many similar complaints), technical complaints with outage words per brand (an
outage), tweets per conversation (a viral thread). A key alerts when its count in the last
window is at least the kind's minimum and above mean + k * max(std, sqrt(mean), min_std) of its
counts in the `history` windows before (zero where it had none): a rolling baseline, so a brand that is
always busy does not alert for being busy.
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

# kind -> the key columns it is counted by (one alert rule per grouping)
GROUPINGS: dict[str, list[tuple[str, ...]]] = {
    "complaints": [("brand", "category"), ("category",)],
    "outage": [("brand",)],
    "viral_thread": [("conversation_id",)],
}


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


def detect(
    tweets: pd.DataFrame, params: EscalationParams, time_column: str, end: datetime | None = None
) -> list[Alert]:
    """Alerts for the window ending at `end` (default: the latest tweet) over lake rows with
    `inbound` or `predicted_inbound`, `brand`, `category`, `conversation_id`, `text`."""
    if tweets.empty:
        return []
    times = pd.to_datetime(tweets[time_column], utc=True)
    end_ts = pd.Timestamp(end) if end is not None else times.max()
    width = pd.Timedelta(params.window)
    # window 0 is the current one, (end - width, end]; 1..history are the ones before it
    index = np.floor((end_ts - times) / width).astype("int64")
    frame = tweets.assign(_window=index.to_numpy())
    frame = frame[(frame["_window"] >= 0) & (frame["_window"] <= params.history)]
    customer = frame[_customer(frame)]
    complaints = customer[customer["category"].isin(params.complaint_categories)]
    outage = complaints[
        complaints["category"].isin(params.outage_categories)
        & complaints["text"].fillna("").str.contains(_words(params.outage_words))
    ]
    sources = {"complaints": complaints, "outage": outage, "viral_thread": frame}
    window = (end_ts - width).to_pydatetime(), end_ts.to_pydatetime()
    alerts: list[Alert] = []
    for kind, groupings in GROUPINGS.items():
        for keys in groupings:
            alerts += _spikes(sources[kind], kind, list(keys), params, window)
    return alerts


def _spikes(
    rows: pd.DataFrame,
    kind: str,
    keys: list[str],
    params: EscalationParams,
    window: tuple[datetime, datetime],
) -> list[Alert]:
    rows = rows.dropna(subset=keys)
    current = rows[rows["_window"] == 0]
    if current.empty:
        return []
    counts = rows.groupby([*keys, "_window"]).size().unstack("_window")
    counts = counts.reindex(columns=range(params.history + 1), fill_value=0).fillna(0)
    history = counts.loc[:, 1:]
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
                window_start=window[0],
                window_end=window[1],
                count=int(now[key]),
                baseline_mean=float(mean[key]),
                baseline_std=float(std[key]),
                threshold=float(threshold[key]),
                tweet_ids=ids,
            )
        )
    return out


def _customer(frame: pd.DataFrame) -> pd.Series:
    """Customer tweets by the model's decision (the lake always has it), else the source flag."""
    column = "predicted_inbound" if "predicted_inbound" in frame else "inbound"
    return frame[column].fillna(False).astype(bool)


def _words(words: list[str]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)
