"""The drift and data-quality core on generated streams: a shift halfway is flagged on the
column that shifted, a steady stream is not (over several seeds), quality limits hold."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tweetcare.data.generator import generate
from tweetcare.monitoring import scenarios
from tweetcare.monitoring.config import MonitorParams, load_monitor_params
from tweetcare.monitoring.drift import compare
from tweetcare.monitoring.features import monitored_frame, training_frame

PARAMS_FILE = Path(__file__).resolve().parents[2] / "params.yaml"
ROWS = 2000
STEADY_SEEDS = (1, 2, 3, 4, 5)


@pytest.fixture(scope="module")
def params() -> MonitorParams:
    return load_monitor_params(PARAMS_FILE)


def halves(stream: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = monitored_frame(stream)
    half = len(frame) // 2
    return frame.iloc[:half], frame.iloc[half:]


@pytest.mark.parametrize(("shift", "column"), [("language", "language"), ("category", "category")])
def test_a_shift_halfway_is_flagged_on_its_column(
    params: MonitorParams, shift: str, column: str, tmp_path: Path
) -> None:
    before, after = halves(scenarios.shifted_stream(ROWS, seed=7, shift=shift))
    result = compare(before, after, params, "previous", html=tmp_path / "report.html")
    assert f"drift.{column}" in [m.key for m in result.breaches]
    drift = next(m for m in result.metrics if m.key == f"drift.{column}")
    assert drift.value >= drift.threshold == params.drift[column].threshold
    assert drift.method == params.drift[column].method
    # the HTML report is Evidently's, with the shifted column in it
    html = (tmp_path / "report.html").read_text()
    assert f"Drift for column {column}" in html


def test_steady_streams_raise_no_false_alarm(params: MonitorParams) -> None:
    """Each seed's two halves come from the same mix: no figure may breach (false-alarm rate 0
    over these seeds; every drift score well below its threshold)."""
    alarms = []
    for seed in STEADY_SEEDS:
        before, after = halves(scenarios.steady_stream(ROWS, seed=seed))
        result = compare(before, after, params, "previous")
        drift = [m for m in result.metrics if m.kind == "drift"]
        assert len(drift) == len(params.drift), "every monitored column was compared"
        alarms += [(seed, m.key, round(m.value, 3)) for m in result.breaches]
    assert alarms == []


def test_training_reference_is_compared_on_the_columns_it_has(params: MonitorParams) -> None:
    tweets, labels = generate(3000, seed=11)
    training = training_frame(tweets.merge(labels, on="tweet_id"))
    current = monitored_frame(scenarios.steady_stream(ROWS, seed=12))
    result = compare(training, current, params, "training")
    compared = {m.name for m in result.metrics if m.kind == "drift"}
    # the training data has labels, not model confidences or detected languages
    assert compared == {
        "text_length",
        "brand",
        "predicted_inbound",
        "sentiment",
        "category",
        "text",
    }
    assert result.breaches == []


def test_quality_limits_flag_dead_letters_and_missing_fields(params: MonitorParams) -> None:
    before, after = halves(scenarios.steady_stream(1000, seed=3))
    broken = after.copy()
    broken.loc[broken.index[:100], "text"] = pd.NA  # 20% missing
    broken = broken.drop(columns=["conversation_id"])
    result = compare(before, broken, params, "previous", dead_letters=100)
    breaches = {m.key: m.value for m in result.breaches}
    assert breaches["quality.missing.text"] == pytest.approx(0.2)
    assert breaches["quality.missing.conversation_id"] == 1.0
    assert breaches["quality.dead_letter_rate"] == pytest.approx(100 / 600)
    assert not [m for m in result.breaches if m.kind == "drift"]
