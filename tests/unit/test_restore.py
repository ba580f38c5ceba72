"""Restoring a lost MLflow store from the DVC copies, and registering nothing twice."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from tests.fixtures.bento import synthetic_features
from training.baseline import train_baseline
from training.pyfunc import log_sklearn_pyfunc
from training.registry import previous_promotion, register_and_promote
from training.restore import (
    RESTORED_TAG,
    in_store,
    keep_copy,
    mark_registry,
    registered_from,
    restore_run,
)
from tweetcare.core.errors import UserError
from tweetcare.core.params import BaselineParams, RegisterParams

GATE = RegisterParams(model_name="tweet-inbound", min_tweets_per_second=1.0, latency_batch=32)
TEXTS = pd.DataFrame({"text": ["@AmazonHelp where is my parcel?", "@Jo123 we are on it, DM us"]})


@pytest.fixture
def store(tmp_path: Path):
    def use(name: str) -> str:
        uri = f"sqlite:///{tmp_path / name}"
        mlflow.set_tracking_uri(uri)
        return uri

    yield use
    mlflow.set_tracking_uri(None)


def log_baseline() -> tuple[str, str]:
    model = train_baseline(
        synthetic_features(200), BaselineParams(C=4.0, max_features=5000, ngram_max=2, min_df=1)
    )
    mlflow.set_experiment("tweet-inbound")
    with mlflow.start_run() as run:
        info = log_sklearn_pyfunc(model, mask_handles=True)
    return info.model_uri, run.info.run_id


def test_a_copy_restores_the_model_into_a_new_store(store, tmp_path: Path) -> None:
    store("lost.db")
    source, _ = log_baseline()
    expected = mlflow.pyfunc.load_model(source).predict(TEXTS)
    copy = keep_copy(source, tmp_path / "artifacts" / "model")

    store("fresh.db")
    client = MlflowClient()
    assert not in_store(client, source)
    uri, run_id = restore_run(copy, "tweet-inbound", "baseline (restored)", {"val_f1": 0.9}, {})
    version = mlflow.register_model(uri, "tweet-inbound").version

    restored = mlflow.pyfunc.load_model(f"models:/tweet-inbound/{version}").predict(TEXTS)
    pd.testing.assert_frame_equal(restored, expected)
    run = client.get_run(run_id)
    assert run.data.tags[RESTORED_TAG] == str(copy)
    assert run.data.metrics["val_f1"] == 0.9


def test_no_copy_is_a_clear_error(store, tmp_path: Path) -> None:
    store("fresh.db")
    with pytest.raises(UserError, match="dvc repro -f train"):
        restore_run(tmp_path / "missing", "tweet-inbound", "x", {}, {})


def test_the_gate_is_not_run_twice_for_the_same_model_and_rules(store) -> None:
    store("mlflow.db")
    source, run_id = log_baseline()
    test = synthetic_features(120, seed=3)
    first = register_and_promote(source, run_id, test, GATE)

    assert previous_promotion(source, GATE) == first
    version = registered_from(MlflowClient(), GATE.model_name, source)
    assert version is not None and str(version.version) == first.version
    # other rules: the gate must decide again
    stricter = GATE.model_copy(update={"min_tweets_per_second": 1e9})
    assert previous_promotion(source, stricter) is None
    assert previous_promotion("models:/m-unknown", GATE) is None


def test_the_registry_file_is_the_store_or_a_receipt(tmp_path: Path) -> None:
    db = tmp_path / "mlflow.db"
    db.write_bytes(b"sqlite")
    mark_registry(db, f"sqlite:///{db}", {"tweet-inbound": "1"})
    assert db.read_bytes() == b"sqlite"  # the store itself: left alone

    receipt = tmp_path / "artifacts" / "registry.json"
    mark_registry(receipt, "http://127.0.0.1:5000", {"tweet-inbound": "3"})
    assert json.loads(receipt.read_text()) == {
        "registered": {"tweet-inbound": "3"},
        "tracking_uri": "http://127.0.0.1:5000",
    }
    with pytest.raises(UserError, match="registry_file"):
        mark_registry(tmp_path / "other.db", "http://127.0.0.1:5000", {})
