"""The monitor's lake reader: a Delta table and a hive-partitioned Parquet folder read the same;
the monitoring table is appended as Delta."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, write_deltalake

from tweetcare.core.settings import Settings
from tweetcare.monitoring import lake

START = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def rows(n: int) -> pa.Table:
    times = [START + timedelta(minutes=i) for i in range(n)]
    return pa.table(
        {
            "tweet_id": [str(i) for i in range(n)],
            "processed_at": pa.array(times, type=pa.timestamp("us", tz="UTC")),
            "date": ["2026-11-30"] * n,
            "brand": ["AmazonHelp" if i % 2 else "SpotifyCares" for i in range(n)],
        }
    )


@pytest.fixture(params=["delta", "parquet"])
def table(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    uri = str(tmp_path / "tweets")
    if request.param == "delta":
        write_deltalake(uri, rows(30), partition_by=["date", "brand"])
    else:
        pq.write_to_dataset(rows(30), uri, partition_cols=["date", "brand"])
    return uri


def test_both_layouts_read_the_same(table: str) -> None:
    dataset = lake.open_dataset(table)
    assert dataset is not None
    assert lake.latest_time(dataset, "processed_at") == START + timedelta(minutes=29)
    recent = lake.read_since(dataset, "processed_at", START + timedelta(minutes=19))
    assert sorted(recent["tweet_id"].astype(int)) == list(range(20, 30))
    assert set(recent["brand"]) == {"AmazonHelp", "SpotifyCares"}  # partition columns kept


def test_a_missing_table_is_none(tmp_path: Path) -> None:
    assert lake.open_dataset(str(tmp_path / "nothing")) is None


def test_monitoring_rows_append_as_delta(tmp_path: Path) -> None:
    settings = Settings(lake_dir=tmp_path / "lake")
    uri = lake.table_uri(settings, lake.MONITORING)
    row = {"metric": "language", "value": 0.4, "breached": True, "ran_at": START}
    lake.append_rows(uri, [row], None)
    lake.append_rows(uri, [row | {"value": 0.1, "breached": False}], None)
    frame = DeltaTable(uri).to_pandas().sort_values("value")
    assert frame["value"].tolist() == [0.1, 0.4]
    assert isinstance(frame["ran_at"].iloc[0], pd.Timestamp)


def test_s3_locations_use_the_settings() -> None:
    settings = Settings(
        lake_uri="s3a://care/lake",
        s3_endpoint_url="http://127.0.0.1:9000",
        aws_access_key_id="key",
        aws_secret_access_key="secret",
    )
    assert lake.table_uri(settings, "tweets") == "s3://care/lake/tweets"
    options = lake.storage_options(settings)
    assert options["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9000"
    assert options["AWS_ALLOW_HTTP"] == "true" and options["AWS_REGION"] == "us-east-1"
