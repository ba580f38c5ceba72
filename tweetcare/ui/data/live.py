"""Live: the stream's micro-batches binned over the last minutes, and first-response times."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from tweetcare.ui.data.durations import parse_time


@dataclass(frozen=True)
class LiveTotals:
    tweets: int
    tweets_per_second: float
    inbound_share: float | None
    tickets_opened: int
    dead_letters: int
    batches: int


def live_timeline(
    batches: Sequence[Mapping[str, Any]], now: datetime, window_minutes: int, bin_seconds: int
) -> pd.DataFrame:
    """Per time bin over the last `window_minutes`: tweets/s, inbound share, tickets, dead letters.

    Built from the stream's per-batch statistics (what each micro-batch processed and when), so
    it shows what the stream did, bin by bin, including empty bins as zeros.
    """
    start = now - pd.Timedelta(minutes=window_minutes)
    edges = pd.date_range(
        end=now, periods=window_minutes * 60 // bin_seconds + 1, freq=f"{bin_seconds}s"
    )
    frame = _batch_frame(batches)
    frame = frame[(frame["processed_at"] > start) & (frame["processed_at"] <= now)]
    frame["bin"] = pd.cut(frame["processed_at"], bins=edges, labels=edges[1:], right=True)
    sums = frame.groupby("bin", observed=False)[
        ["n_valid", "n_inbound", "n_tickets_opened", "n_dead_lettered"]
    ].sum()
    sums = sums.reindex(edges[1:], fill_value=0)
    timeline = pd.DataFrame(index=pd.DatetimeIndex(edges[1:], name="time"))
    timeline["tweets_per_second"] = sums["n_valid"].to_numpy() / bin_seconds
    valid = sums["n_valid"].to_numpy(dtype=float)
    inbound = sums["n_inbound"].to_numpy(dtype=float)
    timeline["inbound_share"] = np.divide(
        inbound, valid, out=np.full_like(valid, np.nan), where=valid > 0
    )
    timeline["tickets_opened"] = sums["n_tickets_opened"].to_numpy().astype(int)
    timeline["dead_letters"] = sums["n_dead_lettered"].to_numpy().astype(int)
    return timeline


def live_totals(
    batches: Sequence[Mapping[str, Any]], now: datetime, window_minutes: int
) -> LiveTotals:
    frame = _batch_frame(batches)
    frame = frame[frame["processed_at"] > now - pd.Timedelta(minutes=window_minutes)]
    valid = int(frame["n_valid"].sum())
    return LiveTotals(
        tweets=valid,
        tweets_per_second=valid / (window_minutes * 60),
        inbound_share=int(frame["n_inbound"].sum()) / valid if valid else None,
        tickets_opened=int(frame["n_tickets_opened"].sum()),
        dead_letters=int(frame["n_dead_lettered"].sum()),
        batches=len(frame),
    )


def _batch_frame(batches: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    columns = ["processed_at", "n_valid", "n_inbound", "n_tickets_opened", "n_dead_lettered"]
    frame = pd.DataFrame([{c: b.get(c) for c in columns} for b in batches], columns=columns)
    frame["processed_at"] = pd.to_datetime(frame["processed_at"].map(parse_time), utc=True)
    for column in columns[1:]:
        frame[column] = pd.to_numeric(frame[column]).fillna(0).astype(int)
    return frame


RESPONSE_COLUMNS = ("brand", "conversations", "median_minutes", "p90_minutes")


def first_response_from_lake(tweets: pd.DataFrame) -> pd.DataFrame:
    """Per brand: minutes from a conversation's first customer tweet to the brand's first reply.

    `tweets` has conversation_id, author_id, inbound (who wrote it) and created_at; the brand is
    the author of the first reply, so a conversation is counted for the brand that answered.
    """
    if tweets.empty:
        return pd.DataFrame(columns=list(RESPONSE_COLUMNS))
    frame = tweets.drop_duplicates("tweet_id") if "tweet_id" in tweets else tweets
    frame = frame.assign(created_at=pd.to_datetime(frame["created_at"], utc=True))
    asked = frame[frame["inbound"]].groupby("conversation_id")["created_at"].min()
    replies = frame[~frame["inbound"]].join(asked.rename("asked_at"), on="conversation_id")
    replies = replies[replies["created_at"] >= replies["asked_at"]].sort_values("created_at")
    first = replies.groupby("conversation_id").first()
    minutes = (first["created_at"] - first["asked_at"]).dt.total_seconds() / 60
    return _response_stats(pd.DataFrame({"brand": first["author_id"], "minutes": minutes}))


def first_response_from_tickets(tickets: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Per brand, from tickets that record `first_response_at` (none of them: an empty frame)."""
    rows = []
    for ticket in tickets:
        opened = parse_time(ticket.get("created_at"))
        answered = parse_time(ticket.get("first_response_at"))
        if opened and answered:
            minutes = (answered - opened).total_seconds() / 60
            rows.append({"brand": ticket.get("brand") or "—", "minutes": minutes})
    return _response_stats(pd.DataFrame(rows, columns=["brand", "minutes"]))


def _response_stats(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=list(RESPONSE_COLUMNS))
    grouped = frame.groupby("brand")["minutes"]
    stats = pd.DataFrame(
        {
            "conversations": grouped.size(),
            "median_minutes": grouped.median().round(1),
            "p90_minutes": grouped.quantile(0.9).round(1),
        }
    )
    return stats.reset_index().sort_values(["median_minutes", "brand"]).reset_index(drop=True)
