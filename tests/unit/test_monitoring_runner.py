"""`run_monitor` on a plain hive-partitioned Parquet lake (the layout before Delta), without
Kafka or MLflow: windows cut from the newest row, figures appended to a Delta table."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.monitoring import scenarios
from tweetcare.monitoring.config import load_monitor_params
from tweetcare.monitoring.runner import run_monitor

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
        settings, params, reports_dir=tmp_path / "reports", publish=False, track=False
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
