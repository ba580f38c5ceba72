"""Alert precision on replays, end to end (a Delta lake, `run_monitor`, the ticket store): a
planted burst is one incident per scope however often the monitor runs over it, a steady
replay processed faster than real time records none, and the demo's replay records exactly its
planted burst, whichever time column the monitor is run on."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from tweetcare.core.settings import Settings
from tweetcare.monitoring import scenarios
from tweetcare.monitoring.config import MonitorParams, load_monitor_params
from tweetcare.monitoring.live_hour import TIME_COLUMN, live_hour_rows
from tweetcare.monitoring.replays import escalations_only, recorded_incidents, replay_backlog
from tweetcare.monitoring.runner import run_monitor
from tweetcare.summary import incident_counts

PARAMS_FILE = Path(__file__).resolve().parents[2] / "params.yaml"
ROWS = 3000  # about 230 tweets per 5-minute window over 65 minutes
STEADY_SEEDS = (11, 12, 13)


@pytest.fixture(scope="module")
def params() -> MonitorParams:
    return escalations_only(load_monitor_params(PARAMS_FILE))


def settings_in(folder: Path) -> Settings:
    return Settings(
        lake_dir=folder / "lake", lake_uri="", tickets_db_url=f"sqlite:///{folder / 'tickets.db'}"
    )


def scopes(incidents: list) -> Counter[tuple[str, str | None, str | None]]:
    return Counter((i["kind"], i["brand"], i["category"]) for i in incidents)


def test_a_planted_burst_is_one_incident_per_scope(tmp_path: Path, params: MonitorParams) -> None:
    settings = settings_in(tmp_path)
    stream = scenarios.burst_stream(ROWS, seed=4, brand="TelcoNetHelp", category="technical")

    runs = replay_backlog(stream, settings, params, runs=4)

    incidents = recorded_incidents(settings)
    assert scopes(incidents) == {
        ("complaints", "TelcoNetHelp", "technical"): 1,
        ("outage", "TelcoNetHelp", None): 1,
    }
    # the first slice holds too little history to judge; the last run repeats the one before
    assert runs[0].alerts == [] and "min_history" in runs[0].escalation_note
    assert [a.alert_id for a in runs[-1].alerts] == [a.alert_id for a in runs[-2].alerts]
    assert (runs[-2].incidents, runs[-1].incidents) == (2, 0)
    burst_end = stream["created_at"].max()
    assert {pd.Timestamp(i["last_seen"], tz=UTC) for i in incidents} == {burst_end}
    # what a report says is what the store holds
    assert incident_counts(settings)["incidents"] == len(incidents)


@pytest.mark.parametrize("seed", STEADY_SEEDS)
def test_a_steady_replay_records_no_incident(
    tmp_path: Path, params: MonitorParams, seed: int
) -> None:
    """An hour of steady traffic processed in a minute: the monitor runs along the way (early
    runs with too little history, the last on the whole hour) and records nothing."""
    settings = settings_in(tmp_path)
    runs = replay_backlog(scenarios.steady_stream(ROWS, seed, minutes=65), settings, params)
    assert [r.alerts for r in runs] == [[] for _ in runs]
    assert runs[-1].escalation_note == ""  # judged, not skipped
    assert recorded_incidents(settings) == []
    assert incident_counts(settings) == {"incidents": 0, "active": 0}


def test_the_demo_s_replay_records_only_its_planted_burst(
    tmp_path: Path, params: MonitorParams
) -> None:
    """As `make demo`: years-old tweets, then the live hour (a shift and one burst), all processed
    in a minute; the monitor run as the demo runs it (on `created_at`, ending at the hour's end),
    then as `tweetcare monitor run` would afterwards (its default `processed_at`)."""
    settings = settings_in(tmp_path)
    hour = params.live_hour
    assert hour is not None
    live = live_hour_rows(params, datetime.now(UTC))
    old = scenarios.steady_stream(2000, seed=5, start=datetime(2017, 10, 9, tzinfo=UTC))
    replay_backlog(pd.concat([old, live], ignore_index=True), settings, params, runs=1)
    demo = params.model_copy(update={"time_column": TIME_COLUMN})
    run_monitor(settings, demo, end=live[TIME_COLUMN].max(), publish=False, track=False)

    assert scopes(recorded_incidents(settings)) == {
        ("complaints", hour.brand, hour.category): 1,
        ("outage", hour.brand, None): 1,
    }
    assert incident_counts(settings) == {"incidents": 2, "active": 2}
