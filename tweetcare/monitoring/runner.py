"""One monitor run: read the lake's recent windows, judge them, record and announce the result.

`run_monitor` is what `tweetcare monitor run`, a scheduler or the stream calls every N minutes:
the current window is judged against the champion's training data (or, without it, the window
before) and against the window before; escalations are detected on the tweets' own times
(`monitor.escalation.time_column`), over the windows before the latest tweet written. It
writes Evidently's HTML reports, logs them and every figure to MLflow, appends the figures to the
lake's `monitoring` table, records escalations as incidents in the ticket store (routing raises
the priority of the tickets they cover) and publishes breaches and escalations to the `alerts`
topic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.dataset as ds

from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.monitoring import lake
from tweetcare.monitoring.alerts import publish_alerts
from tweetcare.monitoring.config import EscalationParams, MonitorParams
from tweetcare.monitoring.drift import Comparison, compare
from tweetcare.monitoring.escalation import Alert, cut_windows, detect
from tweetcare.monitoring.features import monitored_frame, training_frame
from tweetcare.monitoring.tracking import log_run
from tweetcare.tickets.incidents import active_incidents
from tweetcare.tickets.routing import load_routing
from tweetcare.tickets.store import TicketStore

REPORTS_DIR = Path("reports/monitoring")


@dataclass
class MonitorResult:
    """What one run found and where it put it."""

    window_start: datetime | None
    window_end: datetime | None
    rows: int
    dead_letters: int = 0
    comparisons: list[Comparison] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    note: str = ""
    # why escalations were not judged (no baseline yet), empty when they were
    escalation_note: str = ""
    run_id: str | None = None
    published: int = 0
    # incidents written to the ticket store, open tickets they raised
    incidents: int = 0
    tickets_raised: int = 0

    @property
    def breached(self) -> bool:
        return any(c.breaches for c in self.comparisons)

    def to_dict(self) -> dict[str, Any]:
        return {
            "window_start": _iso(self.window_start),
            "window_end": _iso(self.window_end),
            "rows": self.rows,
            "dead_letters": self.dead_letters,
            "breached": self.breached,
            "comparisons": [c.to_dict() for c in self.comparisons],
            "alerts": [a.to_message() for a in self.alerts],
            "note": self.note,
            "escalation_note": self.escalation_note,
            "mlflow_run_id": self.run_id,
            "published": self.published,
            "incidents": self.incidents,
            "tickets_raised": self.tickets_raised,
        }


def run_monitor(
    settings: Settings,
    params: MonitorParams,
    window: timedelta | None = None,
    end: datetime | None = None,
    reports_dir: Path = REPORTS_DIR,
    publish: bool = True,
    track: bool = True,
    incidents: bool = True,
) -> MonitorResult:
    """Judge the lake's latest window (ending at `end`, default its newest row) and record it.

    Call it from a scheduler or the stream every N minutes with the same settings the stream
    runs with; a window with fewer than `monitor.min_rows` tweets is not judged for drift.
    With `incidents`, escalations go to the ticket store (`TWEETCARE_TICKETS_DB_URL`) as
    incidents, before they are published, so the stream raises the tickets they cover.
    """
    options = lake.storage_options(settings)
    uri = lake.table_uri(settings, lake.TWEETS)
    tweets_ds = lake.open_dataset(uri, options)
    if tweets_ds is None:
        raise UserError(f"no tweets in the lake at {uri}: start the stream (tweetcare demo)")
    column = params.time_column
    end = end or lake.latest_time(tweets_ds, column)
    if end is None:
        raise UserError(f"the lake at {uri} has no {column!r} values yet")
    width = window or params.window
    recent = lake.read_since(tweets_ds, column, end - 2 * width, end)
    times = pd.to_datetime(recent[column], utc=True)
    current = recent[times > end - width]
    previous = recent[(times > end - 2 * width) & (times <= end - width)]
    result = MonitorResult(end - width, end, len(current))
    result.dead_letters = _dead_letters(settings, options, end - width, end)
    result.alerts, result.escalation_note = _escalations(tweets_ds, params.escalation, end)
    if len(current) < params.min_rows:
        result.note = f"{len(current)} tweets in the window, fewer than min_rows={params.min_rows}"
    else:
        out = (reports_dir / end.strftime("%Y%m%dT%H%M%S")).resolve()
        result.comparisons = _compare(current, previous, params, result.dead_letters, out)
    if track and result.comparisons:
        result.run_id = _track(settings, params, result, width)
    record_figures(settings, result, options)
    if incidents and result.alerts:
        _record_incidents(settings, params, result)
    if publish:
        result.published = publish_alerts(settings, _messages(result))
    return result


def _escalations(
    tweets: ds.Dataset, params: EscalationParams, end: datetime
) -> tuple[list[Alert], str]:
    """The escalations of the event-time window ending at the latest tweet written by `end`
    (a tweet dated later than that is not judged yet), and why none were judged, if so."""
    column = params.time_column
    event_end = lake.latest_time(tweets, column, not_after=end)
    if event_end is None:
        return [], f"no tweet has a {column!r}"
    span = params.window * (params.history + 1)
    rows = lake.read_since(tweets, column, event_end - span, event_end)
    windows = cut_windows(rows, params, event_end) if len(rows) else None
    seen = len(windows.observed) if windows is not None else 0
    if seen < params.min_history:
        return [], (
            f"{seen} of the {params.history} windows before the last "
            f"hold tweets, fewer than min_history={params.min_history} (no baseline yet)"
        )
    return detect(rows, params, event_end), ""


def _compare(
    current: pd.DataFrame,
    previous: pd.DataFrame,
    params: MonitorParams,
    dead_letters: int,
    out: Path,
) -> list[Comparison]:
    now = monitored_frame(current)
    references: list[tuple[str, pd.DataFrame]] = []
    training = _training_reference(params)
    if training is not None:
        references.append(("training", training))
    if len(previous) >= params.min_rows:
        references.append(("previous", monitored_frame(previous)))
    return [
        compare(frame, now, params, name, dead_letters, out / f"vs_{name}.html")
        for name, frame in references
    ]


def _training_reference(params: MonitorParams) -> pd.DataFrame | None:
    """The champion's training split (the featurize stage's output), sampled; None if absent."""
    if params.reference is None or not params.reference.exists():
        return None
    frame = pd.read_parquet(params.reference)
    if len(frame) > params.max_reference_rows:
        frame = frame.sample(n=params.max_reference_rows, random_state=params.seed)
    return training_frame(frame)


def _dead_letters(
    settings: Settings, options: dict[str, str], start: datetime, end: datetime
) -> int:
    letters = lake.open_dataset(lake.table_uri(settings, lake.DEAD_LETTERS), options)
    if letters is None or "kafka_timestamp" not in letters.schema.names:
        return 0
    return len(lake.read_since(letters, "kafka_timestamp", start, end))


def _track(
    settings: Settings, params: MonitorParams, result: MonitorResult, width: timedelta
) -> str:
    metrics = {f"vs_{c.reference}.{m.key}": m.value for c in result.comparisons for m in c.metrics}
    metrics.update(
        rows=float(result.rows), breaches=float(sum(len(c.breaches) for c in result.comparisons))
    )
    tags = {"window_end": _iso(result.window_end) or "", "breached": str(result.breached).lower()}
    run_params = {"window_seconds": int(width.total_seconds()), "time_column": params.time_column}
    reports = [c.html for c in result.comparisons if c.html is not None and c.html.exists()]
    return log_run(settings.mlflow_tracking_uri, metrics, run_params, tags, reports)


def record_figures(
    settings: Settings, result: MonitorResult, options: dict[str, str] | None = None
) -> None:
    """Append this run's figures to the lake's `monitoring` table (one row per figure), with the
    path of the comparison's HTML report so the console can say where it is."""
    ran_at = datetime.now(UTC)
    rows = [
        {
            "ran_at": ran_at,
            "window_start": result.window_start,
            "window_end": result.window_end,
            "rows": result.rows,
            "reference": c.reference,
            "kind": m.kind,
            "metric": m.name,
            "method": m.method,
            "value": m.value,
            "threshold": m.threshold,
            "breached": m.breached,
            "mlflow_run_id": result.run_id,
            "report": str(c.html) if c.html else None,
        }
        for c in result.comparisons
        for m in c.metrics
    ]
    options = lake.storage_options(settings) if options is None else options
    lake.append_rows(lake.table_uri(settings, lake.MONITORING), rows, options)


def _record_incidents(settings: Settings, params: MonitorParams, result: MonitorResult) -> None:
    """The run's escalations as incidents (one per scope), active for `incident_ttl` after their
    window; the open tickets they cover are raised at once by routing.yaml's rule."""
    routing = load_routing(settings.routing_config)
    ttl = params.escalation.incident_ttl
    messages = [a.to_message() for a in result.alerts]
    found = active_incidents(messages, result.window_end or datetime.now(UTC), ttl)
    store = TicketStore(settings.tickets_db_url)
    try:
        store.create_schema()
        outcome = store.record_incidents(found, ttl, routing)
    finally:
        store.close()
    result.incidents, result.tickets_raised = outcome.recorded, outcome.raised


def _messages(result: MonitorResult) -> list[dict[str, Any]]:
    """One drift message per run with breaches, and one per escalation."""
    published_at = datetime.now(UTC).isoformat()
    out = [{**a.to_message(), "published_at": published_at} for a in result.alerts]
    if result.breached:
        breaches = [
            {"reference": c.reference, **_metric(m)} for c in result.comparisons for m in c.breaches
        ]
        out.insert(
            0,
            {
                "type": "drift",
                "kind": "drift",
                "alert_id": f"DR-{result.window_end:%Y%m%dT%H%M%S}",
                "window_start": _iso(result.window_start),
                "window_end": _iso(result.window_end),
                "rows": result.rows,
                "breaches": breaches,
                "mlflow_run_id": result.run_id,
                "reports": [str(c.html) for c in result.comparisons if c.html],
                "published_at": published_at,
            },
        )
    return out


def _metric(m: Any) -> dict[str, Any]:
    return {
        "metric": m.key,
        "method": m.method,
        "value": m.value,
        "threshold": m.threshold,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
