"""DVC stage `train`: fit the baseline, log it to MLflow as a text-in pyfunc, write metrics.

One parent run per invocation and one child run per model, so later model families (GRU,
transformer) appear as siblings of the baseline in the same experiment.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

import mlflow
import pandas as pd
import typer
from matplotlib import pyplot as plt

from training.baseline import LABEL_COLUMN, train_baseline
from training.evaluate import evaluate_classifier, inbound_scores
from training.latency import measure_speed
from training.metrics import confusion_figure, roc_figure
from training.pyfunc import TEXT_COLUMN, log_sklearn_pyfunc
from tweetcare.core.errors import UserError
from tweetcare.core.params import DEFAULT_PARAMS, TrainParams, load_params
from tweetcare.core.settings import get_settings

EXPERIMENT = "tweet-inbound"
MODEL_NAME_IN_RUN = "model"
SPLITS = ("train", "val", "test")
MASKED_COLUMN = "clean_text"
RAW_COLUMN = "clean_text_raw"
# batch sizes the latency figures are reported at: one tweet, and a streaming micro-batch
LATENCY_BATCHES = (1, 256)

DEFAULT_FEATURES = Path("artifacts/features")
DEFAULT_OUT = Path("artifacts/train")
DEFAULT_METRICS = Path("metrics/train.json")


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    parent_run_id: str
    model_uri: str
    metrics: dict[str, float]


def load_splits(features_dir: Path) -> dict[str, pd.DataFrame]:
    splits = {}
    for split in SPLITS:
        path = features_dir / f"{split}.parquet"
        if not path.exists():
            raise UserError(f"{path} not found; run `dvc repro featurize` first")
        splits[split] = pd.read_parquet(path)
    return splits


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _fit_and_score(
    splits: dict[str, pd.DataFrame], params: TrainParams, text_column: str, suffix: str
) -> tuple[Any, dict[str, float], float]:
    start = time.perf_counter()
    model = train_baseline(splits["train"], params.baseline, text_column)
    seconds = time.perf_counter() - start
    metrics = {
        f"{split}_{name}{suffix}": value
        for split in ("val", "test")
        for name, value in evaluate_classifier(model, splits[split], text_column).items()
    }
    return model, metrics, seconds


def _log_figures(model: Any, test: pd.DataFrame, text_column: str) -> None:
    truth = test[LABEL_COLUMN].astype(int).to_numpy()
    scores = inbound_scores(model, test[text_column].fillna("").astype(str).tolist())
    for name, fig in (
        ("test_confusion_matrix.png", confusion_figure(truth, (scores >= 0.5).astype(int))),
        ("test_roc.png", roc_figure(truth, scores)),
    ):
        mlflow.log_figure(fig, f"plots/{name}")
        plt.close(fig)


def _speed_metrics(model_uri: str, texts: list[str]) -> tuple[dict[str, float], int]:
    """Latency measured on the logged pyfunc as served (raw text, cleaning included)."""
    local = Path(mlflow.artifacts.download_artifacts(model_uri))
    loaded = mlflow.pyfunc.load_model(str(local))
    metrics: dict[str, float] = {}
    for batch in LATENCY_BATCHES:
        speed = measure_speed(loaded, texts, batch)
        metrics[f"latency_ms_per_tweet_b{batch}"] = speed.ms_per_tweet
        metrics[f"tweets_per_second_b{batch}"] = speed.tweets_per_second
    return metrics, _dir_bytes(local)


def train(features_dir: Path, params: TrainParams, out_dir: Path, tracking_uri: str) -> TrainResult:
    """Train, evaluate and log the baseline; write `result.json` into `out_dir`."""
    splits = load_splits(features_dir)
    text_column = MASKED_COLUMN if params.mask_handles else RAW_COLUMN
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(EXPERIMENT)
    with mlflow.start_run(run_name="train") as parent:
        mlflow.log_params({"mask_handles": params.mask_handles, "rows_train": len(splits["train"])})
        with mlflow.start_run(run_name="baseline", nested=True) as child:
            mlflow.log_params(
                {
                    **params.baseline.model_dump(),
                    "mask_handles": params.mask_handles,
                    "text_column": text_column,
                    "model_family": "tfidf-logreg",
                }
            )
            for split, frame in splits.items():
                mlflow.log_param(f"rows_{split}", len(frame))
            model, metrics, seconds = _fit_and_score(splits, params, text_column, "")
            # the same model on unmasked handles shows how much the handle shortcut is worth
            _, raw_metrics, _ = _fit_and_score(splits, params, RAW_COLUMN, "_raw")
            _log_figures(model, splits["test"], text_column)
            info = log_sklearn_pyfunc(model, params.mask_handles, name=MODEL_NAME_IN_RUN)
            speed, size = _speed_metrics(info.model_uri, splits["test"][TEXT_COLUMN].tolist())
            metrics = {
                **metrics,
                **raw_metrics,
                **speed,
                "train_seconds": seconds,
                "model_size_bytes": float(size),
            }
            mlflow.log_metrics(metrics)
    result = TrainResult(child.info.run_id, parent.info.run_id, info.model_uri, metrics)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "result.json").write_text(json.dumps(asdict(result), indent=2) + "\n")
    return result


def write_metrics(result: TrainResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.metrics, indent=2, sort_keys=True) + "\n")


def main(
    features_dir: Annotated[Path, typer.Option(help="folder with train/val/test.parquet")] = (
        DEFAULT_FEATURES
    ),
    out_dir: Annotated[Path, typer.Option(help="where result.json goes")] = DEFAULT_OUT,
    metrics_path: Annotated[Path, typer.Option(help="DVC metrics file")] = DEFAULT_METRICS,
    params_path: Annotated[Path, typer.Option(help="params.yaml")] = DEFAULT_PARAMS,
) -> None:
    """Train the baseline and log it to the MLflow tracking server from settings."""
    try:
        params = load_params(params_path).train
        result = train(features_dir, params, out_dir, get_settings().mlflow_tracking_uri)
    except UserError as err:
        typer.secho(f"error: {err}", fg="red", err=True)
        raise typer.Exit(2) from None
    write_metrics(result, metrics_path)
    typer.echo(
        f"run {result.run_id}: test_f1={result.metrics['test_f1']:.4f} -> {result.model_uri}"
    )


if __name__ == "__main__":
    typer.run(main)
