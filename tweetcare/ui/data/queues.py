"""Queues: tickets as rows with team, age and SLA countdown, most urgent first, and filters."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from tweetcare.tickets.models import ticket_reference
from tweetcare.ui.data.durations import format_duration, parse_time, sla_text

UNASSIGNED = "unassigned"
# ranks for priorities given as words; "P1"-style and numeric priorities rank by their number
PRIORITY_WORDS: dict[str, int] = {
    "urgent": 0,
    "critical": 0,
    "high": 1,
    "medium": 2,
    "normal": 2,
    "low": 3,
}
UNKNOWN_PRIORITY_RANK = 99
QUEUE_COLUMNS = ("ticket_id", "team", "brand", "category", "priority", "status")
_QUEUE_COMPUTED = (
    "ticket",
    "priority_rank",
    "sla_due_at",
    "age_seconds",
    "sla_left_seconds",
    "created_at",
    "text",
)
FILTER_COLUMNS = ("brand", "category", "priority", "status")
_PRIORITY_NUMBER = re.compile(r"^p?(\d+)$", re.IGNORECASE)


def priority_rank(value: Any, levels: Sequence[str] = ()) -> int:
    """Lower is more urgent: the position in `levels` (the routing rules' order, most urgent
    first) when given, else words (urgent, high, ...), "P1"-style or plain numbers."""
    if value is None:
        return UNKNOWN_PRIORITY_RANK
    if value in levels:
        return list(levels).index(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return UNKNOWN_PRIORITY_RANK if math.isnan(value) else int(value)
    text = str(value).strip().lower()
    if text in PRIORITY_WORDS:
        return PRIORITY_WORDS[text]
    match = _PRIORITY_NUMBER.match(text)
    return int(match.group(1)) if match else UNKNOWN_PRIORITY_RANK


def ticket_label(ticket: Mapping[str, Any]) -> str:
    """What agents call a ticket: its number (`#10482`); its id only before it has one."""
    number = ticket.get("ticket_number")
    if number is None or (isinstance(number, float) and math.isnan(number)):
        return str(ticket.get("ticket_id"))
    return ticket_reference(int(number))


def opened_time(ticket: Mapping[str, Any]) -> datetime | None:
    """When the store opened the ticket: its age and SLA clock run from here, not from the
    tweet (years old in replayed history); the tweet's time for a ticket without one."""
    return parse_time(ticket.get("opened_at")) or parse_time(ticket.get("created_at"))


def queue_frame(
    tickets: Sequence[Mapping[str, Any]], now: datetime, levels: Sequence[str] = ()
) -> pd.DataFrame:
    """Tickets as rows with their number, team, age and SLA countdown, most urgent first:
    priority, then the SLA due time (none last), then the oldest. Fields a ticket lacks show
    as empty."""
    rows = []
    for ticket in tickets:
        created = opened_time(ticket)
        due = parse_time(ticket.get("sla_due_at"))
        row = {column: ticket.get(column) for column in QUEUE_COLUMNS}
        row["ticket"] = ticket_label(ticket)
        row["team"] = ticket.get("team") or UNASSIGNED
        row["priority_rank"] = priority_rank(ticket.get("priority"), levels)
        row["sla_due_at"] = due
        row["age_seconds"] = (now - created).total_seconds() if created else None
        row["sla_left_seconds"] = (due - now).total_seconds() if due else None
        row["created_at"] = created
        row["text"] = ticket.get("text")
        rows.append(row)
    frame = pd.DataFrame(
        rows,
        columns=[*QUEUE_COLUMNS, *_QUEUE_COMPUTED],
    )
    frame["age"] = frame["age_seconds"].map(format_duration)
    frame["sla"] = frame["sla_left_seconds"].map(sla_text)
    frame["due_key"] = frame["sla_left_seconds"].fillna(math.inf)
    frame["age_key"] = -frame["age_seconds"].fillna(0)
    ordered = frame.sort_values(["priority_rank", "due_key", "age_key", "ticket_id"], kind="stable")
    return ordered.drop(columns=["due_key", "age_key"]).reset_index(drop=True)


def filter_options(frame: pd.DataFrame) -> dict[str, list[str]]:
    """The values each filter offers: only what the tickets actually carry."""
    options = {}
    for column in FILTER_COLUMNS:
        values = frame[column].dropna().astype(str) if column in frame else pd.Series(dtype=str)
        options[column] = sorted(set(values))
    return options


def filter_queue(frame: pd.DataFrame, selected: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Keep rows whose column value is among the selected ones; an empty selection keeps all."""
    mask = pd.Series(True, index=frame.index)
    for column, values in selected.items():
        if values:
            mask &= frame[column].astype(str).isin([str(v) for v in values])
    return frame[mask]


def queues_by_team(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """One queue per team, the team with the most urgent ticket first (frame is sorted)."""
    return [(str(team), rows) for team, rows in frame.groupby("team", sort=False)]


def queue_table(frame: pd.DataFrame, limit: int, extra: Sequence[str] = ()) -> pd.DataFrame:
    """The columns an agent scans (plus `extra` ones), for the first `limit` rows."""
    columns = ["ticket", "brand", "category", "priority", "status", "age", "sla", *extra]
    return frame.head(limit)[[*columns, "text"]].fillna("—").reset_index(drop=True)
