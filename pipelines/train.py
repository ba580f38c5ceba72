"""DVC stage `train`: compare every model family, log them to MLflow, name the winner.

One parent run per comparison and one child run per model (baseline, Simple RNN, LSTM, GRU,
MiniLM). Writes `artifacts/train/result.json` (the winner, for the register stage) and a copy
of the winner in `artifacts/train/model` (DVC caches it; register restores a lost store from it),
`metrics/train.json` (every model's figures, for `dvc metrics show`) and `plots/compare.csv`
(for `dvc plots show`). Agents' corrections (`corrections.parquet`, when the split wrote one) join
every family's training rows, `data.corrections_weight` times each. So do the labelled sets of task
`inbound` (`data.labelled`), each split by conversation (`analysis.labelled_heldout_share`, seed
`train.seed`): the training part joins, `data.labelled_weights` times a row; the held-out part
scores every family per set (`real_<set>_accuracy`, `real_<set>_f1`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

import mlflow
import pandas as pd
import typer

from training.analysis.labelled import LabelledSplit, labelled_splits
from training.baseline import LABEL_COLUMN
from training.datasets import CORRECTIONS
from training.experiment import Comparison, run_comparison
from training.model_card import data_version
from training.pyfunc import TEXT_COLUMN
from training.restore import MODEL_DIR, keep_copy
from tweetcare.core.contract import DATA_VERSION_TAG
from tweetcare.core.errors import UserError
from tweetcare.core.params import DEFAULT_PARAMS, TrainParams, load_params
from tweetcare.core.settings import get_settings

SPLITS = ("train", "val", "test")
# the task of the labelled sets this stage trains on (<data.labelled>/inbound/<set>.csv)
LABELLED_TASK = "inbound"
DEFAULT_FEATURES = Path("artifacts/features")
DEFAULT_OUT = Path("artifacts/train")
DEFAULT_METRICS = Path("metrics/train.json")
DEFAULT_PLOT = Path("plots/compare.csv")
DEFAULT_DATA_DVC = Path("data.dvc")
# the figures per model that `dvc metrics show` lists (the MLflow runs keep all of them)
DVC_METRICS = (
    "val_f1",
    "test_accuracy",
    "test_f1",
    "test_roc_auc",
    "test_f1_raw",
    "train_seconds",
    "latency_ms_per_tweet_b1",
    "latency_ms_per_tweet_b256",
    "tweets_per_second_b256",
    "model_size_mb",
)
# and each labelled set's held-out figures (real_<set>_<name>)
DVC_REAL_METRICS = ("accuracy", "f1")


@dataclass(frozen=True)
class TrainResult:
    """The winner of the comparison (its child run and model) and every model's metrics."""

    run_id: str
    parent_run_id: str
    model_uri: str
    metrics: dict[str, float]
    winner: str = ""
    models: dict[str, dict[str, float]] | None = None


def _read_features(path: Path) -> pd.DataFrame:
    frame = pd.read_parquet(path)
    missing = {TEXT_COLUMN, LABEL_COLUMN} - set(frame.columns)
    if missing:
        raise UserError(f"{path} lacks column(s) {sorted(missing)}; run `dvc repro featurize`")
    return frame


def load_splits(features_dir: Path) -> dict[str, pd.DataFrame]:
    """The featurized splits, checked: raw `text`, a label, rows of both classes in train; plus
    the agents' corrections under `corrections` when the split stage wrote any."""
    splits = {}
    for split in SPLITS:
        path = features_dir / f"{split}.parquet"
        if not path.exists():
            raise UserError(f"{path} not found; run `dvc repro featurize` first")
        frame = _read_features(path)
        if frame.empty:
            raise UserError(f"{path} has no rows; the split profile asks for too few tweets")
        splits[split] = frame
    if splits["train"][LABEL_COLUMN].astype(int).nunique() < 2:
        raise UserError("the train split holds only one class of `inbound`: nothing to learn")
    corrections = features_dir / f"{CORRECTIONS}.parquet"
    if corrections.exists():
        splits[CORRECTIONS] = _read_features(corrections)
    return splits


def result_of(comparison: Comparison) -> TrainResult:
    winner = comparison.winner
    return TrainResult(
        run_id=winner.run_id,
        parent_run_id=comparison.parent_run_id,
        model_uri=winner.model_uri,
        metrics=winner.metrics,
        winner=winner.name,
        models={r.name: r.metrics for r in comparison.reports},
    )


def train(
    features_dir: Path,
    params: TrainParams,
    out_dir: Path,
    tracking_uri: str,
    data_dvc: Path = DEFAULT_DATA_DVC,
    data_version_override: str | None = None,
    corrections_weight: int = 1,
    labelled: list[LabelledSplit] | None = None,
) -> TrainResult:
    """Run the comparison; write `result.json` and a copy of the winner into `out_dir`.

    The data version is the md5 `data_dvc` records, unless `data_version_override` names one
    (a file trained on outside DVC). Each corrected tweet counts `corrections_weight` times.
    The `labelled` sets' training parts join every family's training rows; their held-out
    parts score every family per set.
    """
    splits = load_splits(features_dir)
    try:
        params = params.for_profile()
    except ValueError as err:
        raise UserError(f"{err} (set train.profile in params.yaml)") from err
    mlflow.set_tracking_uri(tracking_uri)
    version = data_version_override or data_version(data_dvc)
    comparison = run_comparison(
        splits,
        params,
        tags={DATA_VERSION_TAG: version},
        corrections_weight=corrections_weight,
        labelled=labelled or [],
    )
    result = result_of(comparison)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "result.json").write_text(json.dumps(asdict(result), indent=2) + "\n")
    comparison.table.to_csv(out_dir / "comparison.csv")
    # the winner itself, for DVC to cache: register restores a lost MLflow store from it
    keep_copy(result.model_uri, out_dir / MODEL_DIR)
    return result


def _real_keys(metrics: dict[str, float]) -> list[str]:
    """The labelled sets' held-out figures `dvc metrics show` lists, sorted."""
    ends = tuple(f"_{name}" for name in DVC_REAL_METRICS)
    return sorted(k for k in metrics if k.startswith("real_") and k.endswith(ends))


def write_metrics(result: TrainResult, path: Path, plot_path: Path | None = None) -> None:
    """Per-model metrics for `dvc metrics show`; one CSV row per model for `dvc plots show`."""
    models = result.models or {result.winner or "model": result.metrics}
    record = {
        name: {key: metrics[key] for key in (*DVC_METRICS, *_real_keys(metrics)) if key in metrics}
        for name, metrics in models.items()
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    if plot_path is not None:
        plot_path.parent.mkdir(parents=True, exist_ok=True)
        rows = [{"model": name, **values} for name, values in record.items()]
        pd.DataFrame(rows).to_csv(plot_path, index=False)


def main(
    features_dir: Annotated[Path, typer.Option(help="folder with train/val/test.parquet")] = (
        DEFAULT_FEATURES
    ),
    out_dir: Annotated[Path, typer.Option(help="where result.json goes")] = DEFAULT_OUT,
    metrics_path: Annotated[Path, typer.Option(help="DVC metrics file")] = DEFAULT_METRICS,
    plot_path: Annotated[Path, typer.Option(help="DVC plot data (one row per model)")] = (
        DEFAULT_PLOT
    ),
    params_path: Annotated[Path, typer.Option(help="params.yaml")] = DEFAULT_PARAMS,
) -> None:
    """Compare the model families and log them to the MLflow tracking server from settings."""
    try:
        params = load_params(params_path)
        labelled = labelled_splits(
            params.data.labelled,
            LABELLED_TASK,
            params.analysis.labelled_heldout_share,
            params.train.seed,
            params.data.labelled_weights,
        )
        result = train(
            features_dir,
            params.train,
            out_dir,
            get_settings().mlflow_tracking_uri,
            corrections_weight=params.data.corrections_weight,
            labelled=labelled,
        )
    except UserError as err:
        typer.secho(f"error: {err}", fg="red", err=True)
        raise typer.Exit(2) from None
    write_metrics(result, metrics_path, plot_path)
    typer.echo((out_dir / "comparison.csv").read_text())
    typer.echo(
        f"winner {result.winner} (run {result.run_id}): val_f1={result.metrics['val_f1']:.4f} "
        f"test_f1={result.metrics['test_f1']:.4f} -> {result.model_uri}"
    )


if __name__ == "__main__":
    typer.run(main)
