"""`run_monitor` on a plain hive-partitioned Parquet lake (the layout before Delta), without
Kafka or MLflow: windows cut from the newest row, figures appended to a Delta table, escalations
recorded as incidents in the ticket store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from tests.unit.test_tickets import customer
from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.monitoring import scenarios
from tweetcare.monitoring.config import load_monitor_params
from tweetcare.monitoring.runner import run_monitor
from tweetcare.tickets import TicketStore, audit
from tweetcare.tickets.models import ticket_id_for
from tweetcare.tickets.replies import load_replies
from tweetcare.tickets.routing import load_routing

PARAMS_FILE = Path(__file__).resolve().parents[2] / "params.yaml"


def write_parquet_lake(root: Path, rows: int, seed: int, minutes: float) -> None:
    frame = scenarios.shifted_stream(rows, seed=seed, shift="category", minutes=minutes)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_to_dataset(table, str(root / "tweets"), partition_cols=["date", "brand"])


def test_a_parquet_lake_is_judged_against_the_previous_window(tmp_path: Path) -> None:
    write_parquet_lake(tmp_path / "lake", 2000, seed=31, minutes=30)
    params = load_monitor_params(PARAMS_FILE).model_copy(
        update={"reference": tmp_path / "no-training-data.parquet"}
    )
    settings = Settings(lake_dir=tmp_path / "lake")
    result = run_monitor(
        settings,
        params,
        reports_dir=tmp_path / "reports",
        publish=False,
        track=False,
        incidents=False,
    )
    assert result.window_end - result.window_start == timedelta(minutes=15)
    assert 990 <= result.rows <= 1010
    assert [c.reference for c in result.comparisons] == ["previous"]
    assert "drift.category" in [m.key for m in result.comparisons[0].breaches]
    assert result.comparisons[0].html is not None and result.comparisons[0].html.exists()
    figures = DeltaTable(str(tmp_path / "lake" / "monitoring")).to_pandas()
    assert len(figures) == len(result.comparisons[0].metrics)
    assert figures.loc[figures["metric"] == "category", "breached"].tolist() == [True]


def test_a_thin_window_is_not_judged(tmp_path: Path) -> None:
    write_parquet_lake(tmp_path / "lake", 300, seed=32, minutes=60)
    params = load_monitor_params(PARAMS_FILE)
    result = run_monitor(
        Settings(lake_dir=tmp_path / "lake"),
        params,
        reports_dir=tmp_path / "reports",
        publish=False,
        track=False,
        incidents=False,
    )
    assert result.comparisons == [] and "fewer than min_rows" in result.note


def test_an_empty_lake_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no tweets in the lake"):
        run_monitor(
            Settings(lake_dir=tmp_path / "lake"),
            load_monitor_params(PARAMS_FILE),
            publish=False,
            track=False,
        )


def test_escalations_become_incidents_that_raise_open_tickets(tmp_path: Path) -> None:
    """A burst ending a minute ago: its alerts are recorded as incidents, and the open ticket in
    their scope is raised at once (no drift judged: min_rows is out of reach)."""
    end = datetime.now(UTC) - timedelta(minutes=1)
    burst = scenarios.burst_stream(3000, seed=4, start=end - timedelta(minutes=65))
    table = pa.Table.from_pandas(burst, preserve_index=False)
    pq.write_to_dataset(table, str(tmp_path / "lake" / "tweets"), partition_cols=["date", "brand"])
    settings = Settings(
        lake_dir=tmp_path / "lake", tickets_db_url=f"sqlite:///{tmp_path / 'tickets.db'}"
    )
    store = TicketStore(settings.tickets_db_url)
    store.create_schema()
    routing = load_routing(settings.routing_config)
    calm = {"sentiment": "neutral", "sentiment_score": 0.0}
    events = [
        customer("1", "1", 10, text="@TelcoNetHelp my router keeps dropping", **calm),
        customer("2", "2", 10, text="@AmazonHelp where is my parcel", category="delivery", **calm),
    ]
    store.apply(events, routing, load_replies(settings.replies_config))
    params = load_monitor_params(PARAMS_FILE).model_copy(update={"min_rows": 10**9})

    result = run_monitor(settings, params, publish=False, track=False)

    assert result.comparisons == [] and result.alerts
    assert (result.incidents, result.tickets_raised) == (len(result.alerts), 1)
    assert result.to_dict()["tickets_raised"] == 1
    raised, other = (store.get_ticket(ticket_id_for(c)) for c in ("1", "2"))
    alert_ids = {a.alert_id for a in result.alerts}
    assert raised.priority == "high" and raised.incident_alert_id in alert_ids
    assert (other.priority, other.incident_alert_id) == ("normal", None)
    assert {i.alert_id for i in store.active_incidents()} == alert_ids
    [entry] = audit.trail(store.engine, raised.ticket_id)
    assert (entry.actor, entry.action) == ("monitor", "raise")
    store.close()
