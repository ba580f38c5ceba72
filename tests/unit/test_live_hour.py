"""The demo's live hour: generated tweets on the hour ending now, with a shift and a burst, sent
as stream messages; `run_monitor` with `created_at` as its time column finds both in a lake of
them, however fast the stream wrote them (their `processed_at` spans a minute)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import write_deltalake

from streaming.lake import TWEET_SCHEMA
from streaming.parse import parse_message
from tweetcare.cli.demo import report_monitor
from tweetcare.core.schemas import TweetMessage
from tweetcare.core.settings import Settings
from tweetcare.data.generator import generate
from tweetcare.kafka.replay import build_message, parse_created_at
from tweetcare.monitoring import scenarios
from tweetcare.monitoring.config import MonitorParams, load_monitor_params
from tweetcare.monitoring.live_hour import (
    BURST,
    SHIFTED,
    TIME_COLUMN,
    live_hour_messages,
    live_hour_rows,
)
from tweetcare.monitoring.runner import MonitorResult, run_monitor

PARAMS_FILE = Path(__file__).resolve().parents[2] / "params.yaml"
NOW = datetime(2026, 12, 1, 9, 30, 15, 250_000, tzinfo=UTC)


@pytest.fixture(scope="module")
def params() -> MonitorParams:
    return load_monitor_params(PARAMS_FILE)


@pytest.fixture(scope="module")
def rows(params: MonitorParams) -> pd.DataFrame:
    return live_hour_rows(params, NOW)


def part(rows: pd.DataFrame, name: str) -> pd.DataFrame:
    return rows[rows["tweet_id"].str.split("-").str[2] == name]


def test_the_messages_are_the_stream_s_on_the_hour_ending_now(
    params: MonitorParams, rows: pd.DataFrame
) -> None:
    hour = params.live_hour
    assert hour is not None
    messages = live_hour_messages(rows)
    assert len(messages) == hour.steady_rows + hour.shift_rows + hour.burst
    ids = [m.tweet_id for m in messages]
    assert len(set(ids)) == len(ids)
    data, _ = generate(2000, seed=42)
    assert not set(ids) & set(data["tweet_id"].astype(str))
    assert all(not i.isdigit() for i in ids)  # twcs ids are numbers
    created = parse_created_at(pd.Series([m.created_at for m in messages]))
    assert created.notna().all() and created.is_monotonic_increasing
    end = NOW.replace(microsecond=0)
    assert created.min() == end - hour.duration and end - timedelta(minutes=1) < created.max()
    assert created.max() <= end
    # what the replay sends, the stream takes as a tweet (no dead letter)
    parsed = [parse_message(build_message(m.model_dump())) for m in messages[:50]]
    assert all(isinstance(p, TweetMessage) for p in parsed)
    assert parsed[0].conversation_id == messages[0].conversation_id


def test_the_last_window_is_shifted_and_ends_in_a_burst(
    params: MonitorParams, rows: pd.DataFrame
) -> None:
    hour = params.live_hour
    assert hour is not None and hour.shift == "category"
    end = NOW.replace(microsecond=0)
    shifted = part(rows, SHIFTED)
    customer = shifted[shifted["inbound"]]
    last = customer[TIME_COLUMN] > end - params.window
    technical = customer["category"] == scenarios.SHIFT_CATEGORY
    assert technical[last].mean() > technical[~last].mean() + 0.3
    burst = part(rows, BURST)
    assert len(burst) == hour.burst
    assert (burst["brand"] == hour.brand).all() and (burst["category"] == hour.category).all()
    assert burst[TIME_COLUMN].min() >= end - hour.burst_duration


def test_sizes_come_from_params(params: MonitorParams) -> None:
    assert params.live_hour is not None
    small = params.live_hour.model_copy(update={"steady_rows": 40, "shift_rows": 60, "burst": 9})
    rows = live_hour_rows(params.model_copy(update={"live_hour": small}), NOW)
    assert [len(part(rows, p)) for p in "sxb"] == [40, 60, 9]


def lake_table(frame: pd.DataFrame) -> pa.Table:
    """Scenario rows in the stream's schema (columns they have no value for stay null)."""
    columns = {name: frame.get(name) for name in TWEET_SCHEMA.names}
    return pa.Table.from_pandas(pd.DataFrame(columns), schema=TWEET_SCHEMA, preserve_index=False)


def test_the_monitor_finds_the_shift_and_the_burst_on_created_at(
    tmp_path: Path, params: MonitorParams
) -> None:
    """As in the demo: the live hour after years-old data, all processed within a minute."""
    now = datetime.now(UTC)
    live = live_hour_rows(params, now)
    old = scenarios.steady_stream(300, seed=5, start=datetime(2017, 10, 9, tzinfo=UTC))
    tweets = pd.concat([old, live], ignore_index=True)
    tweets["processed_at"] = pd.Timestamp(now) + pd.to_timedelta(range(len(tweets)), unit="ms") * (
        60_000 / len(tweets)
    )
    write_deltalake(str(tmp_path / "lake" / "tweets"), lake_table(tweets), partition_by=["date"])
    raw, labels = generate(1000, seed=23)
    reference = tmp_path / "train.parquet"
    raw.merge(labels, on="tweet_id").to_parquet(reference, index=False)
    settings = Settings(
        lake_dir=tmp_path / "lake", tickets_db_url=f"sqlite:///{tmp_path / 'tickets.db'}"
    )
    demo_params = params.model_copy(update={"time_column": TIME_COLUMN, "reference": reference})

    result = run_monitor(
        settings, demo_params, reports_dir=tmp_path / "reports", publish=False, track=False
    )

    assert result.window_end == live[TIME_COLUMN].max()
    breaches = {c.reference: [m.key for m in c.breaches] for c in result.comparisons}
    assert "drift.category" in breaches["previous"] and "drift.category" in breaches["training"]
    assert all(c.html is not None and c.html.exists() for c in result.comparisons)
    hour = params.live_hour
    assert hour is not None
    scopes = {(a.kind, a.key.get("brand"), a.key.get("category")) for a in result.alerts}
    assert ("complaints", hour.brand, hour.category) in scopes
    assert ("outage", hour.brand, None) in scopes
    assert result.incidents == len(result.alerts)


def test_the_demo_says_when_the_monitor_finds_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    end = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    quiet = MonitorResult(end - timedelta(minutes=15), end, 120, note="120 tweets, too few")
    report_monitor(Settings(), quiet)
    out = capsys.readouterr().out
    assert "drift not judged: 120 tweets, too few" in out
    assert "found no drift breach and no escalation" in out and "published" not in out
