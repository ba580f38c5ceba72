"""`tweetcare models promote`: the live gate on a real MLflow registry and a real Delta lake.

The lake rows are written with `deltalake` in the stream's own schema (`streaming.lake`), as
the stream leaves them after scoring with a champion and a challenger in shadow; the stream's
own test shows the real server and Spark job filling these columns.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import mlflow
import pyarrow as pa
import pytest
from deltalake import write_deltalake
from typer.testing import CliRunner

from streaming.lake import TWEET_SCHEMA
from tests.fixtures.bento import synthetic_features
from tests.fixtures.registry import register_challenger
from training.baseline import train_baseline
from training.pyfunc import log_sklearn_pyfunc
from tweetcare.cli import app
from tweetcare.core.contract import CHALLENGER, CHAMPION, REASON_TAG, SHADOW_RECORD_TAG
from tweetcare.core.params import BaselineParams

pytestmark = pytest.mark.integration
NAME = "tweet-inbound"


def registry(path: Path) -> str:
    """Version 1 as champion, version 2 as challenger."""
    uri = f"sqlite:///{path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("tweet-inbound")
    with mlflow.start_run():
        info = log_sklearn_pyfunc(
            train_baseline(
                synthetic_features(100),
                BaselineParams(C=1.0, max_features=50, ngram_max=1, min_df=1),
            ),
            mask_handles=True,
        )
    version = mlflow.register_model(info.model_uri, NAME).version
    mlflow.MlflowClient().set_registered_model_alias(NAME, CHAMPION, version)
    register_challenger(NAME)
    mlflow.set_tracking_uri(None)
    return uri


def write_lake(lake: Path, challenger_right: int, tweets: int = 40) -> None:
    """`tweets` shadow-scored rows: the champion right on half, the challenger on `challenger_right`."""
    now = datetime(2026, 12, 1, tzinfo=UTC)
    rows = [
        {
            "tweet_id": str(i),
            "inbound": i % 2 == 0,
            "predicted_inbound": (i % 2 == 0) if i < tweets // 2 else (i % 2 == 1),
            "shadow_inbound": (i % 2 == 0) if i < challenger_right else (i % 2 == 1),
            "model_version": "1",
            "shadow_model_version": "2",
            "date": "2026-12-01",
            "processed_at": now,
        }
        for i in range(tweets)
    ]
    table = pa.Table.from_pylist(rows, schema=TWEET_SCHEMA)
    write_deltalake(str(lake / "tweets"), table, mode="overwrite", partition_by=["date"])


def test_promote_follows_the_live_record_and_records_why(tmp_path: Path) -> None:
    uri = registry(tmp_path)
    params = tmp_path / "params.yaml"
    raw = Path("params.yaml").read_text()
    params.write_text(raw.replace("min_tweets: 500", "min_tweets: 40"))
    env = {
        "TWEETCARE_MLFLOW_TRACKING_URI": uri,
        "TWEETCARE_LAKE_DIR": str(tmp_path / "lake"),
        "TWEETCARE_TICKETS_DB_URL": f"sqlite:///{tmp_path / 'tickets.db'}",  # no corrections
    }
    runner = CliRunner()
    client = mlflow.MlflowClient(tracking_uri=uri)

    write_lake(tmp_path / "lake", challenger_right=10)  # worse than the champion live
    kept = runner.invoke(app, ["models", "promote", "--params", str(params)], env=env)
    assert kept.exit_code == 1 and "kept version 1 as champion" in kept.output, kept.output
    assert client.get_model_version_by_alias(NAME, CHAMPION).version == 1
    refusal = json.loads(client.get_model_version(NAME, "2").tags[SHADOW_RECORD_TAG])
    assert refusal["decision"] == CHALLENGER and refusal["evidence"]["labelled"] == 40
    assert refusal["evidence"]["challenger_accuracy"] == pytest.approx(0.25)

    write_lake(tmp_path / "lake", challenger_right=40)  # right on every tweet
    report = runner.invoke(app, ["models", "shadow-report", "--params", str(params)], env=env)
    assert report.exit_code == 0 and "would promote" in report.output, report.output
    dry = runner.invoke(app, ["models", "promote", "--dry-run", "--params", str(params)], env=env)
    assert dry.exit_code == 0 and client.get_model_version_by_alias(NAME, CHAMPION).version == 1
    done = runner.invoke(app, ["models", "promote", "--params", str(params)], env=env)
    assert done.exit_code == 0 and "version 2 is now champion (was 1)" in done.output, done.output
    assert client.get_model_version_by_alias(NAME, CHAMPION).version == 2
    assert CHALLENGER not in client.get_registered_model(NAME).aliases
    promoted = client.get_model_version(NAME, "2")
    assert promoted.tags[REASON_TAG].startswith("challenger beats the champion: live F1 1.0000")
    assert json.loads(promoted.tags[SHADOW_RECORD_TAG])["decision"] == CHAMPION
    again = runner.invoke(app, ["models", "promote", "--params", str(params)], env=env)
    assert again.exit_code == 1 and "no champion and challenger pair" in again.output
