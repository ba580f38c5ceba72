"""A scenario stream replayed into a lake the way a stream catching up on a backlog writes it,
with the monitor run as it goes: how the tests and `benchmarks/alert_precision.py` measure the
escalation alerts end to end (lake, detector, ticket store), not the detector alone.

The stream starts when the scenario ends and processes all of it within `catch_up`, oldest
first, so `processed_at` squeezes the scenario's hour into a minute while `created_at` keeps it.
The monitor runs after each of `runs` equal slices, on whatever the lake holds by then, and once
more at the end (a scheduler's repeat): each run records its escalations as incidents.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from deltalake import write_deltalake
from sqlalchemy import select

from tweetcare.core.settings import Settings
from tweetcare.monitoring import lake
from tweetcare.monitoring.config import MonitorParams
from tweetcare.monitoring.runner import MonitorResult, run_monitor
from tweetcare.tickets.models import IncidentRecord
from tweetcare.tickets.store import TicketStore

# the lake columns the monitor reads; the rest of the stream's schema does not matter here
LAKE_COLUMNS: tuple[str, ...] = (
    "tweet_id",
    "conversation_id",
    "author_id",
    "inbound",
    "predicted_inbound",
    "probability",
    "sentiment",
    "category",
    "category_confidence",
    "language",
    "text",
    "brand",
    "created_at",
    "processed_at",
    "date",
)
# timestamps as the stream writes them (Delta has no nanoseconds)
_TIME_TYPE = pa.timestamp("us", tz="UTC")


def replay_backlog(
    stream: pd.DataFrame,
    settings: Settings,
    params: MonitorParams,
    runs: int = 4,
    catch_up: timedelta = timedelta(minutes=1),
) -> list[MonitorResult]:
    """Append `stream` to the lake's tweets table in `runs` slices processed within `catch_up`
    after its last tweet, running the monitor after each slice and once more after the last;
    returns every run's result (the incidents are in `settings.tickets_db_url`)."""
    rows = stream.sort_values("created_at", kind="stable").reset_index(drop=True)
    started = pd.to_datetime(rows["created_at"], utc=True).max()
    step = catch_up / max(len(rows), 1)
    rows["processed_at"] = started + pd.to_timedelta(np.arange(1, len(rows) + 1) * step)
    uri = lake.table_uri(settings, lake.TWEETS)
    results = []
    for piece in np.array_split(np.arange(len(rows)), runs):
        write_deltalake(uri, _lake_table(rows.iloc[piece]), mode="append")
        results.append(_monitor(settings, params))
    results.append(_monitor(settings, params))
    return results


def escalations_only(params: MonitorParams) -> MonitorParams:
    """`params` with drift left out (no window reaches `min_rows`): a replay measures the
    escalation alerts; `benchmarks/monitoring.py` measures drift."""
    return params.model_copy(update={"reference": None, "min_rows": sys.maxsize})


def recorded_incidents(settings: Settings) -> list[Mapping[str, Any]]:
    """Every incident row in the ticket store, active or expired."""
    store = TicketStore(settings.tickets_db_url)
    try:
        store.create_schema()
        with store.engine.connect() as conn:
            return list(conn.execute(select(IncidentRecord.__table__)).mappings())
    finally:
        store.close()


def _monitor(settings: Settings, params: MonitorParams) -> MonitorResult:
    return run_monitor(settings, params, publish=False, track=False)


def _lake_table(rows: pd.DataFrame) -> pa.Table:
    frame = pd.DataFrame({name: rows[name] for name in LAKE_COLUMNS if name in rows})
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for name in ("created_at", "processed_at"):
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, table.column(name).cast(_TIME_TYPE))
    return table
