"""The comparison as MLflow runs: one parent run, one child run per model family.

Each child run holds the family's parameters, per-epoch metrics (sequence models), accuracy,
precision, recall, F1 and ROC-AUC on validation and test, confusion-matrix and ROC plots,
training time, latency at batch 1 and 256, model size, the logged pyfunc, and (for the families
in `train.raw_handles_models`) the same figures for a twin trained on unmasked handles. The
parent run keeps the comparison table and chart and names the winner. Every family trains on
the train split plus the agents' corrections (`splits['corrections']`, when any), weighted, and
the training part of every labelled set of task `inbound`; each set's held-out conversations
score every family on their own (`real_<set>_accuracy`, `real_<set>_f1`, ...).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from matplotlib import pyplot as plt

from training.analysis.labelled import LabelledSplit, log_labelled_sets
from training.analysis.labelled import training_rows as labelled_training_rows
from training.baseline import LABEL_COLUMN
from training.compare import (
    ModelReport,
    comparison_chart,
    comparison_table,
    pick_winner,
    table_markdown,
)
from training.datasets import CORRECTIONS, LABELLED, corrections_params, log_training_data
from training.families import DESCRIPTIONS, FittedModel, fit_family, import_family_code
from training.latency import measure_speed
from training.metrics import classification_metrics, confusion_figure, roc_figure
from training.pyfunc import TEXT_COLUMN
from tweetcare.core.contract import INBOUND_EXPERIMENT as EXPERIMENT
from tweetcare.core.contract import WINNER_TAG
from tweetcare.core.params import TrainParams

MODEL_NAME_IN_RUN = "model"
EVAL_SPLITS = ("val", "test")
# batch sizes the latency figures are reported at: one tweet, and a streaming micro-batch
LATENCY_BATCHES = (1, 256)
BYTES_PER_MB = 1024 * 1024


@dataclass(frozen=True)
class Comparison:
    parent_run_id: str
    reports: list[ModelReport]
    winner: ModelReport
    table: pd.DataFrame


def _scores(model: FittedModel, splits: dict[str, pd.DataFrame]) -> dict[str, np.ndarray]:
    return {
        split: model.inbound_probability(splits[split][TEXT_COLUMN].astype(str).tolist())
        for split in EVAL_SPLITS
    }


def _split_metrics(
    splits: dict[str, pd.DataFrame], scores: dict[str, np.ndarray], suffix: str = ""
) -> dict[str, float]:
    return {
        f"{split}_{name}{suffix}": value
        for split in EVAL_SPLITS
        for name, value in classification_metrics(
            splits[split][LABEL_COLUMN].astype(int), scores[split]
        ).items()
    }


def labelled_inbound_rows(sets: Sequence[LabelledSplit]) -> pd.DataFrame:
    """The sets' training parts as rows the families train on: `text` and a bool `inbound`,
    each row repeated its set's weight."""
    rows = labelled_training_rows(list(sets), LABEL_COLUMN)
    return pd.DataFrame(
        {
            TEXT_COLUMN: rows["text"].astype(str).tolist(),
            LABEL_COLUMN: (rows[LABEL_COLUMN].astype(str) == "true").tolist(),
        }
    )


def real_metrics(model: FittedModel, sets: Sequence[LabelledSplit]) -> dict[str, float]:
    """Accuracy, precision, recall, F1 and ROC-AUC on each set's held-out conversations (which
    never trained), as ``real_<set>_<metric>``; sets with nothing held out are left out."""
    metrics: dict[str, float] = {}
    for labelled in sets:
        if labelled.heldout.empty:
            continue
        truth = (labelled.heldout["label"].astype(str) == "true").astype(int)
        scores = model.inbound_probability(labelled.heldout["text"].astype(str).tolist())
        for name, value in classification_metrics(truth, scores).items():
            metrics[f"real_{labelled.name}_{name}"] = value
    return metrics


def _log_figures(splits: dict[str, pd.DataFrame], scores: dict[str, np.ndarray]) -> None:
    for split in EVAL_SPLITS:
        truth = splits[split][LABEL_COLUMN].astype(int).to_numpy()
        for name, fig in (
            ("confusion_matrix", confusion_figure(truth, (scores[split] >= 0.5).astype(int))),
            ("roc", roc_figure(truth, scores[split])),
        ):
            mlflow.log_figure(fig, f"plots/{split}_{name}.png")
            plt.close(fig)


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _speed_and_size(model_uri: str, texts: list[str], repeats: int) -> dict[str, float]:
    """Latency of the logged pyfunc as served (raw text in, cleaning included), and its size."""
    local = Path(mlflow.artifacts.download_artifacts(model_uri))
    loaded = mlflow.pyfunc.load_model(str(local))
    metrics: dict[str, float] = {}
    for batch in LATENCY_BATCHES:
        speed = measure_speed(loaded, texts, batch, repeats=repeats)
        metrics[f"latency_ms_per_tweet_b{batch}"] = speed.ms_per_tweet
        metrics[f"tweets_per_second_b{batch}"] = speed.tweets_per_second
    size = _dir_bytes(local)
    return {**metrics, "model_size_bytes": float(size), "model_size_mb": size / BYTES_PER_MB}


def _timed_fit(
    family: str, splits: dict[str, pd.DataFrame], params: TrainParams, mask: bool, weight: int
) -> tuple[FittedModel, float]:
    import_family_code(family)
    start = time.perf_counter()
    model = fit_family(family, splits, params, mask, corrections_weight=weight)
    return model, time.perf_counter() - start


def _raw_twin_metrics(
    family: str,
    splits: dict[str, pd.DataFrame],
    params: TrainParams,
    masked: dict[str, float],
    weight: int,
) -> dict[str, float]:
    """The same family trained and scored with handles left in: the shortcut's size."""
    with mlflow.start_run(run_name=f"{family}-raw-handles", nested=True):
        mlflow.log_params({"model_family": family, "mask_handles": False})
        mlflow.log_params(corrections_params(splits.get(CORRECTIONS), weight))
        twin, seconds = _timed_fit(family, splits, params, False, weight)
        metrics = _split_metrics(splits, _scores(twin, splits), suffix="_raw")
        metrics["train_seconds_raw"] = seconds
        mlflow.log_metrics(metrics)
    metrics["handle_shortcut_test_f1_gain"] = metrics["test_f1_raw"] - masked["test_f1"]
    return metrics


def compare_one(
    family: str,
    splits: dict[str, pd.DataFrame],
    params: TrainParams,
    tags: dict[str, str] | None = None,
    corrections_weight: int = 1,
    labelled: Sequence[LabelledSplit] = (),
) -> ModelReport:
    """Train, score and log one family in its own child run of the active parent; the labelled
    sets' held-out conversations score it per set."""
    with mlflow.start_run(run_name=family, nested=True, tags=tags) as child:
        log_training_data(splits, tags)
        log_labelled_sets(labelled)
        mlflow.set_tag("mlflow.note.content", DESCRIPTIONS.get(family, family))
        mlflow.log_params({f"rows_{name}": len(frame) for name, frame in splits.items()})
        mlflow.log_params({"model_family": family, "mask_handles": params.mask_handles})
        mlflow.log_params(corrections_params(splits.get(CORRECTIONS), corrections_weight))
        model, seconds = _timed_fit(family, splits, params, params.mask_handles, corrections_weight)
        mlflow.log_params(model.params)
        scores = _scores(model, splits)
        metrics = {**_split_metrics(splits, scores), **model.metrics, "train_seconds": seconds}
        metrics.update(real_metrics(model, labelled))
        _log_figures(splits, scores)
        info = model.log(MODEL_NAME_IN_RUN)
        texts = splits["test"][TEXT_COLUMN].tolist()
        metrics.update(_speed_and_size(info.model_uri, texts, params.latency_repeats))
        mlflow.log_metrics(metrics)
        if params.mask_handles and family in params.raw_handles_models:
            raw = _raw_twin_metrics(family, splits, params, metrics, corrections_weight)
            mlflow.log_metrics(raw)
            metrics.update(raw)
    return ModelReport(family, child.info.run_id, info.model_uri, metrics)


def _log_comparison(table: pd.DataFrame, winner: ModelReport) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "comparison.csv"
        table.to_csv(csv)
        mlflow.log_artifact(str(csv), "comparison")
    mlflow.log_text(table_markdown(table), "comparison/comparison.md")
    fig = comparison_chart(table)
    mlflow.log_figure(fig, "comparison/comparison.png")
    plt.close(fig)
    mlflow.set_tags({WINNER_TAG: winner.name, "comparison.winner_run_id": winner.run_id})
    mlflow.log_metrics({f"winner_{k}": v for k, v in winner.metrics.items()})


def _start_parent() -> mlflow.ActiveRun:
    """A new parent run, or the one `mlflow run` made for us (its experiment, its run id)."""
    if os.environ.get("MLFLOW_RUN_ID"):
        return mlflow.start_run()
    mlflow.set_experiment(EXPERIMENT)
    return mlflow.start_run(run_name="compare")


def run_comparison(
    splits: dict[str, pd.DataFrame],
    params: TrainParams,
    tags: dict[str, str] | None = None,
    corrections_weight: int = 1,
    labelled: Sequence[LabelledSplit] = (),
) -> Comparison:
    """Compare every family in `params.models` on `splits`; the tracking URI must be set.
    `splits['corrections']`, when present, joins every family's training rows
    `corrections_weight` times; so does each `labelled` set's training part (its own weight
    times), and its held-out part scores every family."""
    rows = labelled_inbound_rows(labelled)
    if not rows.empty:
        splits = {**splits, LABELLED: rows}
    with _start_parent() as parent:
        mlflow.set_tags(tags or {})
        log_training_data(splits, tags)
        log_labelled_sets(labelled)
        mlflow.log_params(
            {
                "profile": params.profile,
                "models": ",".join(params.models),
                "mask_handles": params.mask_handles,
                "f1_tie_tolerance": params.f1_tie_tolerance,
                **{f"rows_{name}": len(frame) for name, frame in splits.items()},
                **corrections_params(splits.get(CORRECTIONS), corrections_weight),
            }
        )
        start = time.perf_counter()
        reports = [
            compare_one(family, splits, params, tags, corrections_weight, labelled)
            for family in params.models
        ]
        winner = pick_winner(reports, params.f1_tie_tolerance)
        table = comparison_table(reports, winner=winner.name)
        _log_comparison(table, winner)
        mlflow.log_metric("comparison_seconds", time.perf_counter() - start)
    return Comparison(parent.info.run_id, reports, winner, table)
