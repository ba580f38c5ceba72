"""Baseline training, metrics and the pyfunc's contract (raw text in, same frame out)."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from tests.fixtures.bento import run_python, synthetic_features, write_feature_splits
from training.baseline import train_baseline
from training.metrics import classification_metrics, confusion_figure, roc_figure
from training.pyfunc import OUTPUT_COLUMNS, predictions_frame, save_sklearn_pyfunc
from tweetcare.core.errors import UserError
from tweetcare.core.params import BaselineParams, TrainParams

PARAMS = BaselineParams(C=4.0, max_features=5000, ngram_max=2, min_df=1)


@pytest.fixture(scope="module")
def fitted():
    return train_baseline(synthetic_features(300), PARAMS)


def test_baseline_learns_inbound_from_masked_text(fitted) -> None:
    test = synthetic_features(100, seed=7)
    predicted = fitted.predict(test["clean_text"].tolist())
    assert (predicted == test["inbound"].astype(int)).mean() > 0.9
    assert fitted.named_steps["tfidf"].ngram_range == (1, 2)
    assert fitted.named_steps["tfidf"].sublinear_tf


def test_baseline_rejects_missing_column_and_single_class() -> None:
    with pytest.raises(UserError, match="clean_text"):
        train_baseline(pd.DataFrame({"inbound": [True, False]}), PARAMS)
    one_class = synthetic_features(10)
    one_class["inbound"] = True
    with pytest.raises(UserError, match="one class"):
        train_baseline(one_class, PARAMS)


def test_metrics_on_a_known_case() -> None:
    metrics = classification_metrics([1, 1, 0, 0], [0.9, 0.4, 0.2, 0.6])
    assert metrics["accuracy"] == 0.5
    assert metrics["precision"] == 0.5
    assert metrics["recall"] == 0.5
    assert metrics["roc_auc"] == 0.75
    assert confusion_figure([1, 0], [1, 1]).axes and roc_figure([1, 0], [0.8, 0.3]).axes


def test_predictions_frame_contract() -> None:
    frame = predictions_frame(np.array([0.9, 0.2]))
    assert tuple(frame.columns) == OUTPUT_COLUMNS
    assert frame["label"].tolist() == ["inbound", "outbound"]
    assert frame["probability"].tolist() == pytest.approx([0.9, 0.8])


def test_pyfunc_cleans_raw_text_and_loads_in_another_process(fitted, tmp_path: Path) -> None:
    path = tmp_path / "model"
    save_sklearn_pyfunc(fitted, mask_handles=True, path=path)
    texts = ["@AppleSupport my phone is broken again", "@555 Sorry to hear that! Please DM us ^JK"]
    here = mlflow.pyfunc.load_model(str(path)).predict(pd.DataFrame({"text": texts}))
    assert here["label"].tolist() == ["inbound", "outbound"]
    # a fresh interpreter outside the repo: the cleaning code must travel with the model
    script = (
        "import json, sys, mlflow, pandas as pd;"
        f"m = mlflow.pyfunc.load_model({str(path)!r});"
        f"print(json.dumps(m.predict(pd.DataFrame({{'text': {texts!r}}})).to_dict('records')))"
    )
    done = run_python(["-c", script])
    assert done.returncode == 0, done.stderr[-2000:]
    there = json.loads(done.stdout.strip().splitlines()[-1])
    assert [row["label"] for row in there] == ["inbound", "outbound"]
    assert there[0]["inbound_probability"] == pytest.approx(here["inbound_probability"][0])


def test_pyfunc_masks_handles_so_the_handle_alone_decides_nothing(fitted, tmp_path: Path) -> None:
    """Invariance: swapping which customer id is mentioned does not change the answer."""
    save_sklearn_pyfunc(fitted, mask_handles=True, path=tmp_path / "m")
    model = mlflow.pyfunc.load_model(str(tmp_path / "m"))
    out = model.predict(pd.DataFrame({"text": ["@111 please DM us", "@999999 please DM us"]}))
    assert out["inbound_probability"][0] == pytest.approx(out["inbound_probability"][1])


def test_train_stage_logs_run_and_writes_result(tmp_path: Path) -> None:
    from pipelines.train import train

    features = write_feature_splits(tmp_path / "features", rows=200)
    params = TrainParams(mask_handles=True, baseline=PARAMS)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    data_dvc = tmp_path / "data.dvc"
    data_dvc.write_text("outs:\n- md5: 0123456789abcdef0123456789abcdef.dir\n  path: data\n")
    result = train(features, params, tmp_path / "out", uri, data_dvc=data_dvc)
    saved = json.loads((tmp_path / "out" / "result.json").read_text())
    assert saved["run_id"] == result.run_id and saved["model_uri"] == result.model_uri
    for key in ("test_f1", "val_f1", "test_f1_raw", "tweets_per_second_b256", "model_size_bytes"):
        assert key in result.metrics
    run = mlflow.get_run(result.run_id)
    assert run.data.tags["mlflow.parentRunId"] == result.parent_run_id
    assert run.data.metrics["test_f1"] > 0.9
    artifacts = [a.path for a in mlflow.MlflowClient().list_artifacts(result.run_id, "plots")]
    assert "plots/test_confusion_matrix.png" in artifacts and "plots/test_roc.png" in artifacts
    # the run names what it learned from: each split, its digest the DVC data version
    inputs = {i.dataset.name: i for i in run.inputs.dataset_inputs}
    assert set(inputs) == {"twcs-train", "twcs-val", "twcs-test"}
    assert {i.dataset.digest for i in inputs.values()} == {"0123456789abcdef0123456789abcdef.dir"}
    assert [t.value for t in inputs["twcs-train"].tags if t.key == "mlflow.data.context"] == [
        "train"
    ]
