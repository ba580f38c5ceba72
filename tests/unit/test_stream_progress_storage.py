"""The job's progress file and the one mapping from settings to lake storage access."""

from __future__ import annotations

import json
from pathlib import Path

from streaming.progress import PROGRESS_FILE, ProgressFile, end_offsets_of
from tweetcare.core.settings import Settings
from tweetcare.core.storage import (
    delta_storage_options,
    hadoop_s3a_conf,
    lake_table_uri,
    read_table,
    reader_uri,
)


def test_progress_is_written_whole_and_survives_a_restart(tmp_path: Path) -> None:
    progress = ProgressFile(tmp_path)
    progress.update(
        query_id="q",
        batch_id=4,
        end_offsets=end_offsets_of('{"tweets": {"0": 10, "1": 7}}'),
        rows=15,
        dead_letters=2,
    )
    written = json.loads((tmp_path / PROGRESS_FILE).read_text())
    assert written["end_offsets"] == {"tweets": {"0": 10, "1": 7}}
    assert (written["batch_id"], written["rows"], written["last_error"]) == (4, 15, None)
    assert written["updated_at"].endswith("+00:00")
    assert [p.name for p in tmp_path.iterdir()] == [PROGRESS_FILE]  # no temp file left

    ProgressFile(tmp_path).update(last_error="boom")  # a restart keeps what it knew
    again = json.loads((tmp_path / PROGRESS_FILE).read_text())
    assert (again["batch_id"], again["last_error"]) == (4, "boom")


def test_end_offsets_of_anything_spark_may_report() -> None:
    assert end_offsets_of({"t": {"2": "5"}}) == {"t": {"2": 5}}
    assert end_offsets_of("not json") == {} and end_offsets_of(None) == {}


def test_s3_settings_map_to_spark_and_deltalake_alike() -> None:
    settings = Settings(
        lake_uri="s3a://bucket/lake/",
        s3_endpoint_url="http://127.0.0.1:9000",
        aws_access_key_id="key",
        aws_secret_access_key="secret",
    )
    assert lake_table_uri(settings, "tweets") == "s3a://bucket/lake/tweets"
    assert reader_uri(lake_table_uri(settings, "tweets")) == "s3://bucket/lake/tweets"
    conf = hadoop_s3a_conf(settings)
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:9000"
    assert conf["spark.hadoop.fs.s3a.access.key"] == "key"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    options = delta_storage_options(settings)
    assert options["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9000"
    assert (options["AWS_ACCESS_KEY_ID"], options["AWS_ALLOW_HTTP"]) == ("key", "true")


def test_a_local_lake_needs_no_storage_options(tmp_path: Path) -> None:
    settings = Settings(lake_dir=tmp_path / "lake", s3_region="")
    assert hadoop_s3a_conf(settings) == {} and delta_storage_options(settings) == {}
    assert lake_table_uri(settings, "tweets") == str((tmp_path / "lake").resolve() / "tweets")
    assert read_table(settings, "tweets") is None  # not created yet
