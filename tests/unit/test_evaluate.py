"""`tweetcare evaluate`, the evaluate stage's helpers and the CLI's clear errors on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.evaluate import evaluate_model, labelled_frame, read_labelled, write_plots
from tests.fixtures.bento import synthetic_features
from tests.fixtures.twcs import twcs_frame, write_twcs
from training.baseline import train_baseline
from training.pyfunc import save_sklearn_pyfunc
from tweetcare.cli import app
from tweetcare.core.errors import UserError
from tweetcare.core.params import BaselineParams


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "baseline"
    fitted = train_baseline(
        synthetic_features(200), BaselineParams(C=4.0, max_features=5000, ngram_max=2, min_df=1)
    )
    save_sklearn_pyfunc(fitted, mask_handles=True, path=path)
    return path


def test_labelled_frame_reads_twcs_strings_and_rejects_bad_input(tmp_path: Path) -> None:
    frame = labelled_frame(pd.DataFrame({"text": ["a", "b"], "inbound": ["True", "false"]}), "f")
    assert frame["inbound"].tolist() == [True, False]
    with pytest.raises(UserError, match="lacks column"):
        labelled_frame(pd.DataFrame({"body": ["a"], "inbound": ["True"]}), "f")
    with pytest.raises(UserError, match="only inbound"):
        labelled_frame(pd.DataFrame({"text": ["a", "b"], "inbound": ["True", "True"]}), "f")
    with pytest.raises(UserError, match="True/False"):
        labelled_frame(pd.DataFrame({"text": ["a", "b"], "inbound": ["True", "maybe"]}), "f")
    with pytest.raises(UserError, match="not found"):
        read_labelled(tmp_path / "missing.csv")


def test_evaluate_model_and_dvc_plots(model_path: Path, tmp_path: Path) -> None:
    import mlflow

    frame = labelled_frame(synthetic_features(60, seed=5)[["text", "inbound"]], "test")
    record, scores = evaluate_model(mlflow.pyfunc.load_model(str(model_path)), frame)
    assert record["n"] == 60 and record["accuracy"] > 0.9 and len(scores) == 60
    write_plots(frame, scores, tmp_path / "plots", points=10)
    roc = pd.read_csv(tmp_path / "plots" / "roc.csv")
    assert list(roc.columns) == ["fpr", "tpr"] and len(roc) <= 10
    confusion = pd.read_csv(tmp_path / "plots" / "confusion.csv")
    assert set(confusion["actual"]) == {"inbound", "outbound"} and len(confusion) == 60


def test_cli_evaluate_prints_json_for_any_model_on_a_twcs_file(
    model_path: Path, tmp_path: Path
) -> None:
    data = write_twcs(twcs_frame(30), tmp_path / "twcs.csv")
    result = CliRunner().invoke(
        app, ["evaluate", "--model-uri", str(model_path), "--input", str(data), "--json"]
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"accuracy", "f1", "n"} <= set(record) and record["n"] == len(twcs_frame(30))


def test_cli_train_and_evaluate_refuse_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["train", "--input", str(tmp_path / "nope.csv")])
    assert isinstance(missing.exception, UserError) and "no such file" in str(missing.exception)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("id,body\n1,hello\n")
    bad_columns = runner.invoke(app, ["evaluate", "--input", str(wrong), "--json"])
    assert isinstance(bad_columns.exception, UserError)
    assert "lacks column" in str(bad_columns.exception)
    one_class = twcs_frame(10)
    one_class["inbound"] = "True"
    only = runner.invoke(app, ["evaluate", "--input", str(write_twcs(one_class, wrong)), "--json"])
    assert isinstance(only.exception, UserError) and "only inbound" in str(only.exception)
