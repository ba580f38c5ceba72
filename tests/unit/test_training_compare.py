"""Choosing the winner, the parent run's table and chart, and the comparison as MLflow runs."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest

from tests.fixtures.bento import write_feature_splits
from training.compare import (
    ModelReport,
    comparison_chart,
    comparison_table,
    pick_winner,
    table_markdown,
)
from training.model_card import UNTRACKED, data_version, render_model_card
from tweetcare.core.errors import UserError
from tweetcare.core.params import BaselineParams, SequenceParams, TokenizerParams, TrainParams


def _report(name: str, val_f1: float, ms: float) -> ModelReport:
    metrics = {
        "val_f1": val_f1,
        "latency_ms_per_tweet_b256": ms,
        "tweets_per_second_b256": 1e3 / ms,
    }
    return ModelReport(name, f"run-{name}", f"runs:/{name}/model", metrics)


def test_winner_is_best_val_f1_and_ties_go_to_the_faster_model() -> None:
    slow_best, fast_close, fast_poor = (
        _report("gru", 0.95, 0.2),
        _report("lr", 0.949, 0.01),
        (_report("rnn", 0.80, 0.001)),
    )
    assert pick_winner([fast_close, slow_best, fast_poor]).name == "gru"
    assert pick_winner([fast_close, slow_best, fast_poor], tie_tolerance=0.002).name == "lr"
    assert pick_winner([_report("a", 0.9, 0.5), _report("b", 0.9, 0.1)]).name == "b"
    with pytest.raises(UserError, match="no models"):
        pick_winner([])


def test_table_markdown_and_chart() -> None:
    reports = [_report("baseline", 0.9, 0.01), _report("minilm", 0.95, 8.0)]
    table = comparison_table(reports, winner="minilm")
    assert list(table.index) == ["baseline", "minilm"]
    assert table.loc["minilm", "winner"] and not table.loc["baseline", "winner"]
    text = table_markdown(table)
    assert text.splitlines()[0].startswith("| model | val accuracy | val F1")
    assert "| minilm |" in text and "yes" in text and "—" in text  # unmeasured figures shown
    assert len(comparison_chart(table).axes) == 2


def test_model_card_holds_data_version_metrics_use_and_limits(tmp_path: Path) -> None:
    dvc = tmp_path / "data.dvc"
    dvc.write_text("outs:\n- md5: abc123.dir\n  path: data\n")
    assert data_version(dvc) == "abc123.dir" and data_version(tmp_path / "no.dvc") == UNTRACKED
    card = render_model_card(
        "tweet-inbound",
        "3",
        "challenger",
        "too slow: 90 tweets/s",
        "r1",
        {"model_family": "minilm", "rows_train": "10", "rows_val": "2", "rows_test": "2"},
        {"val_f1": 0.91, "test_f1": 0.9, "test_f1_raw": 0.99, "tweets_per_second_b256": 90.0},
        {"data.version": "abc123.dir"},
    )
    for expected in ("v3", "abc123.dir", "minilm", "@challenger", "too slow", "0.9100"):
        assert expected in card
    assert "test (raw handles)" in card and "## Intended use" in card and "## Limits" in card


def test_comparison_logs_parent_and_child_runs_and_names_a_winner(tmp_path: Path) -> None:
    from pipelines.train import train, write_metrics

    features = write_feature_splits(tmp_path / "features", rows=160)
    params = TrainParams(
        mask_handles=True,
        baseline=BaselineParams(C=4.0, max_features=5000, ngram_max=2, min_df=1),
        models=["baseline", "gru"],
        raw_handles_models=["gru"],
        tokenizer=TokenizerParams(vocab_size=200, min_frequency=1, max_length=16),
        sequence=SequenceParams(embedding_dim=8, hidden=8, max_epochs=1, batch_size=32),
    )
    result = train(features, params, tmp_path / "out", f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert set(result.models) == {"baseline", "gru"} and result.winner in result.models
    best = max(m["val_f1"] for m in result.models.values())
    assert result.metrics["val_f1"] == best

    client = mlflow.MlflowClient()
    parent = client.get_run(result.parent_run_id)
    assert parent.data.tags["comparison.winner"] == result.winner
    parent_files = {a.path for a in client.list_artifacts(result.parent_run_id, "comparison")}
    assert {"comparison/comparison.csv", "comparison/comparison.md"} <= parent_files
    assert "comparison/comparison.png" in parent_files

    [gru] = mlflow.search_runs(
        experiment_ids=[parent.info.experiment_id],
        filter_string="tags.mlflow.runName = 'gru'",
        output_format="list",
    )
    assert gru.data.tags["mlflow.parentRunId"] == result.parent_run_id
    for key in (
        "val_roc_auc",
        "test_precision",
        "test_f1_raw",
        "latency_ms_per_tweet_b1",
        "tweets_per_second_b256",
        "model_size_bytes",
        "train_seconds",
        "epochs_trained",
    ):
        assert key in gru.data.metrics, key
    epochs = client.get_metric_history(gru.info.run_id, "val/loss")
    assert [m.step for m in epochs] == [0]  # per-epoch metrics from Lightning
    plots = {a.path for a in client.list_artifacts(gru.info.run_id, "plots")}
    assert {"plots/test_confusion_matrix.png", "plots/val_roc.png"} <= plots

    write_metrics(result, tmp_path / "metrics.json", tmp_path / "compare.csv")
    dvc_metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(dvc_metrics) == {"baseline", "gru"} and "test_f1" in dvc_metrics["gru"]
    assert (tmp_path / "compare.csv").read_text().startswith("model,")
