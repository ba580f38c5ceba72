"""Monitoring: the monitor's figures per window, its breaches, and the escalation incidents.

The lake's `monitoring` table holds one row per figure per run (`tweetcare monitor run`); these
functions turn it into what a person reads: one line per judged window, the worst figure of each
kind, a history chart on a common scale (a figure over its params.yaml threshold), the breaches.
Incidents come from the ticket store as plain dicts and become a table and a one-line banner.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from tweetcare.monitoring.features import CATEGORICAL_COLUMNS, NUMERIC_COLUMNS, TEXT_COLUMNS
from tweetcare.ui.data.durations import parse_time

# what the tweets bring in, and what the models make of them (the monitored columns, split)
PREDICTION_COLUMNS: tuple[str, ...] = (
    "predicted_inbound",
    "probability",
    "sentiment",
    "category",
    "category_confidence",
)
INPUT_COLUMNS: tuple[str, ...] = tuple(
    c
    for c in (*TEXT_COLUMNS, *NUMERIC_COLUMNS, *CATEGORICAL_COLUMNS)
    if c not in PREDICTION_COLUMNS
)
INPUT_DRIFT, PREDICTION_DRIFT = "input drift", "prediction drift"
DEAD_LETTERS, MISSING = "dead-letter rate", "missing fields"
# the history chart's lines; missing fields stay out (one absent field is 50x its limit)
CHARTED = (INPUT_DRIFT, PREDICTION_DRIFT, DEAD_LETTERS)
# the columns the monitor writes that these functions need
MONITORING_COLUMNS = ("window_end", "reference", "kind", "metric", "value", "threshold", "breached")
# how an escalation kind reads in a sentence
_KIND_TEXT = {"complaints": "spike of {category}complaints", "outage": "outage reports"}


def figure_group(kind: str, metric: str) -> str:
    """Which of the four aspects a figure belongs to: input or prediction drift, dead letters,
    missing fields (a drift figure of an unknown column counts as input)."""
    if kind == "drift":
        return PREDICTION_DRIFT if metric in PREDICTION_COLUMNS else INPUT_DRIFT
    return DEAD_LETTERS if metric == "dead_letter_rate" else MISSING


def format_when(value: Any, now: datetime) -> str:
    """`14:05 UTC` on `now`'s day, `2026-11-23 14:05 UTC` before; `—` when unknown."""
    when = parse_time(value)
    if when is None:
        return "—"
    return when.strftime("%H:%M UTC" if when.date() == now.date() else "%Y-%m-%d %H:%M UTC")


def latest_runs(rows: pd.DataFrame) -> pd.DataFrame:
    """The figures of each window's latest run (a window judged twice shows once), newest
    window first, with `group` and `ratio` (value over threshold: above 1 is over the limit)."""
    if rows.empty:
        return rows.assign(group=pd.Series(dtype="string"), ratio=pd.Series(dtype="float64"))
    frame = rows.copy()
    frame["window_end"] = pd.to_datetime(frame["window_end"], utc=True)
    if "ran_at" in frame:
        frame["ran_at"] = pd.to_datetime(frame["ran_at"], utc=True)
        last = frame.groupby("window_end")["ran_at"].transform("max")
        frame = frame[frame["ran_at"] == last]
    frame["group"] = [
        figure_group(k, m) for k, m in zip(frame["kind"], frame["metric"], strict=True)
    ]
    frame["ratio"] = [_ratio(v, t) for v, t in zip(frame["value"], frame["threshold"], strict=True)]
    frame["breached"] = frame["breached"].fillna(False).astype(bool)
    return frame.sort_values(["window_end", "reference"], ascending=[False, True]).reset_index(
        drop=True
    )


def window_table(rows: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """One line per judged window and reference, newest first: tweets, the worst input and
    prediction drift figure (column, value and limit), the dead-letter rate, the breaches."""
    frame = latest_runs(rows)
    columns = ["window end", "reference", "tweets", INPUT_DRIFT, PREDICTION_DRIFT, DEAD_LETTERS]
    if frame.empty:
        return pd.DataFrame(columns=[*columns, "breaches"])
    out = []
    for (end, reference), figures in frame.groupby(["window_end", "reference"], sort=False):
        dead = figures[figures["group"] == DEAD_LETTERS]
        kinds, metrics = _km(figures[figures["breached"]])
        breaches = [_key(k, m) for k, m in zip(kinds, metrics, strict=True)]
        out.append(
            {
                "window end": format_when(end, now),
                "reference": reference,
                "tweets": int(figures["rows"].iloc[0]) if "rows" in figures else None,
                INPUT_DRIFT: _worst(figures[figures["group"] == INPUT_DRIFT]),
                PREDICTION_DRIFT: _worst(figures[figures["group"] == PREDICTION_DRIFT]),
                DEAD_LETTERS: f"{dead['value'].iloc[0]:.1%}" if not dead.empty else "—",
                "breaches": ", ".join(breaches) or "none",
            }
        )
    return pd.DataFrame(out, columns=[*columns, "breaches"])


def metric_history(rows: pd.DataFrame) -> pd.DataFrame:
    """Per window (oldest first), the worst figure of each charted kind over any reference as a
    share of its threshold: above 1.0 is a breach, so kinds measured in different units share
    one chart."""
    frame = latest_runs(rows)
    frame = frame[frame["group"].isin(CHARTED)]
    if frame.empty:
        return pd.DataFrame(columns=list(CHARTED))
    history = frame.pivot_table(index="window_end", columns="group", values="ratio", aggfunc="max")
    history = history.reindex(columns=list(CHARTED)).sort_index()
    history.index.name = "window end"
    history.columns.name = None
    return history


def breach_table(rows: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """Every figure over its limit, newest window first: what, against which reference, the
    value, the limit and the method that measured it."""
    frame = latest_runs(rows)
    frame = frame[frame["breached"]]
    columns = ["window end", "reference", "figure", "value", "threshold", "method"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame(
        {
            "window end": [format_when(e, now) for e in frame["window_end"]],
            "reference": frame["reference"].to_numpy(),
            "figure": [_key(k, m) for k, m in zip(*_km(frame), strict=True)],
            "value": [_number(v) for v in frame["value"]],
            "threshold": [_number(t) for t in frame["threshold"]],
            "method": frame["method"].to_numpy() if "method" in frame else "—",
        },
        columns=columns,
    )


@dataclass(frozen=True)
class WindowDetail:
    """One window's latest run: every figure (breaches first), the HTML report per reference
    where the monitor recorded it (older monitors did not), the MLflow run that logged it."""

    figures: pd.DataFrame
    reports: dict[str, str] = field(default_factory=dict)
    mlflow_run_id: str | None = None


def window_ends(rows: pd.DataFrame) -> list[pd.Timestamp]:
    """The judged windows' ends, newest first."""
    frame = latest_runs(rows)
    return list(dict.fromkeys(frame["window_end"])) if not frame.empty else []


def window_detail(rows: pd.DataFrame, window_end: Any) -> WindowDetail:
    """What one window's latest run measured and where its reports are."""
    frame = latest_runs(rows)
    frame = frame[frame["window_end"] == pd.Timestamp(window_end)]
    frame = frame.sort_values(
        ["breached", "reference", "kind", "metric"], ascending=[False, True, True, True]
    )
    figures = pd.DataFrame(
        {
            "reference": frame["reference"].to_numpy(),
            "figure": [_key(k, m) for k, m in zip(*_km(frame), strict=True)],
            "method": frame["method"].to_numpy() if "method" in frame else "—",
            "value": [_number(v) for v in frame["value"]],
            "threshold": [_number(t) for t in frame["threshold"]],
            "breached": ["yes" if b else "no" for b in frame["breached"]],
        }
    )
    reports: dict[str, str] = {}
    if "report" in frame:
        recorded = frame[frame["report"].notna()]
        reports = dict(zip(recorded["reference"], recorded["report"].astype(str), strict=True))
    run_ids = frame["mlflow_run_id"].dropna() if "mlflow_run_id" in frame else pd.Series()
    return WindowDetail(figures, reports, str(run_ids.iloc[0]) if not run_ids.empty else None)


def alert_table(messages: Iterable[Mapping[str, Any]], now: datetime) -> pd.DataFrame:
    """Messages from the `alerts` topic as the CLI's `monitor alerts` lists them: a drift
    message's breached figures, an escalation's scope and count."""
    rows = []
    for m in messages:
        if m.get("type") == "drift":
            scope = "models"
            what = ", ".join(str(b.get("metric")) for b in m.get("breaches") or [])
        else:
            scope = incident_scope(m)
            what = f"{m.get('count')} tweets (threshold {_number(m.get('threshold'))})"
        rows.append(
            {
                "alert id": m.get("alert_id"),
                "kind": m.get("kind"),
                "window end": format_when(m.get("window_end"), now),
                "scope": scope,
                "what": what,
            }
        )
    return pd.DataFrame(rows, columns=["alert id", "kind", "window end", "scope", "what"])


# --- incidents -----------------------------------------------------------------------------------


def incident_scope(incident: Mapping[str, Any]) -> str:
    """`brand @AmazonHelp, category delivery` (null = any: not named)."""
    parts = []
    if incident.get("brand"):
        parts.append(f"brand @{incident['brand']}")
    if incident.get("category"):
        parts.append(f"category {incident['category']}")
    if incident.get("conversation_id"):
        parts.append(f"conversation {incident['conversation_id']}")
    return ", ".join(parts) or "everything"


def is_active(incident: Mapping[str, Any], now: datetime) -> bool:
    """Active until its `expires_at` (the store's rule: `expires_at > now`)."""
    expires = parse_time(incident.get("expires_at"))
    return expires is not None and expires > now


def incident_table(incidents: Iterable[Mapping[str, Any]], now: datetime) -> pd.DataFrame:
    """Active incidents first, then the most recently seen: state, kind, scope, alert id and
    when it was first and last seen and expires."""
    rows = sorted(incidents, key=_last_seen, reverse=True)
    rows.sort(key=lambda i: not is_active(i, now))  # stable: the latest first within each
    columns = ["state", "kind", "scope", "alert id", "first seen", "last seen", "expires"]
    return pd.DataFrame(
        [
            {
                "state": "active" if is_active(i, now) else "expired",
                "kind": i.get("kind"),
                "scope": incident_scope(i),
                "alert id": i.get("alert_id"),
                "first seen": format_when(i.get("first_seen"), now),
                "last seen": format_when(i.get("last_seen"), now),
                "expires": format_when(i.get("expires_at"), now),
            }
            for i in rows
        ],
        columns=columns,
    )


def describe_incident(incident: Mapping[str, Any]) -> str:
    """In words: `spike of delivery complaints for @AmazonHelp`, `outage reports for @X`,
    `viral thread 123`."""
    kind = str(incident.get("kind") or "escalation")
    category = incident.get("category")
    if kind == "viral_thread":
        return f"viral thread {incident.get('conversation_id') or ''}".rstrip()
    text = _KIND_TEXT.get(kind, f"{kind.replace('_', ' ')} spike").format(
        category=f"{category} " if category else ""
    )
    if kind not in _KIND_TEXT and category:
        text += f" in {category}"
    if incident.get("brand"):
        text += f" for @{incident['brand']}"
    return text


def incident_banner_text(
    incidents: Iterable[Mapping[str, Any]], now: datetime, raise_levels: int | None
) -> str | None:
    """One line about the most recently seen active incident (and how many more there are),
    or None when none is active. `raise_levels` is routing.yaml's `priority.incident_raise`
    (None: unknown, not mentioned)."""
    active = [i for i in incidents if is_active(i, now)]
    if not active:
        return None
    latest = max(active, key=_last_seen)
    text = f"Active incident: {describe_incident(latest)}"
    since = format_when(latest.get("first_seen"), now)
    if since != "—":
        text += f" since {since}"
    if raise_levels:
        levels = "one priority level" if raise_levels == 1 else f"{raise_levels} priority levels"
        text += f" — tickets in scope are raised {levels}"
    elif raise_levels == 0:
        text += " — routing does not raise its tickets (priority.incident_raise is 0)"
    if len(active) > 1:
        text += f" (and {len(active) - 1} more)"
    return text


# --- helpers -------------------------------------------------------------------------------------


def _last_seen(incident: Mapping[str, Any]) -> datetime:
    return parse_time(incident.get("last_seen")) or datetime.min.replace(tzinfo=UTC)


def _ratio(value: Any, threshold: Any) -> float:
    try:
        value, threshold = float(value), float(threshold)
    except (TypeError, ValueError):
        return math.nan
    return value / threshold if threshold > 0 else math.nan


def _km(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    return frame["kind"].astype(str).tolist(), frame["metric"].astype(str).tolist()


def _key(kind: str, metric: str) -> str:
    """The runner's own name for a figure (`drift.language`, `quality.dead_letter_rate`)."""
    return f"{kind}.{metric}"


def _number(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "—"
    return "—" if math.isnan(number) else f"{number:.3g}"


def _worst(figures: pd.DataFrame) -> str:
    """The figure nearest (or furthest over) its limit: `language 0.41 (limit 0.2)`."""
    if figures.empty:
        return "—"
    worst = figures.loc[figures["ratio"].fillna(-math.inf).idxmax()]
    mark = " — over" if worst["breached"] else ""
    return (
        f"{worst['metric']} {_number(worst['value'])} (limit {_number(worst['threshold'])}){mark}"
    )
