"""DVC stage `evaluate`, and scoring any registered model on any twcs-format file.

The stage scores the comparison's winner (from `artifacts/train/result.json`) on the test split
through its pyfunc, as served, and writes `metrics/evaluate.json` plus the ROC curve and the
confusion pairs under `plots/evaluate/` for `dvc plots show`. `tweetcare evaluate` reuses
`evaluate_model` on any labelled twcs file.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Annotated, Any

import mlflow
import numpy as np
import pandas as pd
import typer
from sklearn.metrics import roc_curve

from pipelines.validate import read_raw
from training.baseline import LABEL_COLUMN
from training.metrics import classification_metrics
from training.pyfunc import TEXT_COLUMN
from training.restore import MODEL_DIR
from tweetcare.core.errors import UserError
from tweetcare.core.params import DEFAULT_PARAMS, load_params
from tweetcare.core.settings import get_settings

DEFAULT_RESULT = Path("artifacts/train/result.json")
DEFAULT_TEST = Path("artifacts/features/test.parquet")
DEFAULT_METRICS = Path("metrics/evaluate.json")
DEFAULT_PLOTS = Path("plots/evaluate")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def labelled_frame(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """`text` and a boolean `inbound`, checked: the columns exist and both classes occur."""
    missing = {TEXT_COLUMN, LABEL_COLUMN} - set(frame.columns)
    if missing:
        raise UserError(
            f"{source} lacks column(s) {', '.join(sorted(missing))}: "
            "a twcs-format file has at least `text` and `inbound`"
        )
    if frame.empty:
        raise UserError(f"{source} has no rows to evaluate on")
    labels = frame[LABEL_COLUMN]
    if labels.dtype != bool:
        words = labels.astype(str).str.strip().str.lower()
        unknown = sorted(set(words) - _TRUE - _FALSE)
        if unknown:
            raise UserError(f"{source}: `inbound` must be True/False, found {unknown[:5]}")
        labels = words.isin(_TRUE)
    if labels.nunique() < 2:
        only = "inbound" if bool(labels.iloc[0]) else "outbound"
        raise UserError(f"{source} holds only {only} tweets: need rows of both classes")
    return pd.DataFrame(
        {TEXT_COLUMN: frame[TEXT_COLUMN].fillna("").astype(str), LABEL_COLUMN: labels}
    )


def read_labelled(path: Path) -> pd.DataFrame:
    """A twcs CSV (or a split/feature parquet) as `text` + `inbound`."""
    if path.suffix == ".parquet":
        if not path.is_file():
            raise UserError(f"no such file: {path}")
        return labelled_frame(pd.read_parquet(path), str(path))
    return labelled_frame(read_raw(path), str(path))


def load_model(model_uri: str) -> Any:
    try:
        return mlflow.pyfunc.load_model(model_uri)
    except (mlflow.exceptions.MlflowException, OSError) as err:
        raise UserError(f"cannot load {model_uri}: {str(err).splitlines()[0]}") from err


def _json_safe(value: float) -> float | None:
    return None if math.isnan(value) else value


def evaluate_model(model: Any, frame: pd.DataFrame) -> tuple[dict[str, Any], np.ndarray]:
    """Metrics of a tweet-inbound pyfunc on labelled raw text, and its inbound probabilities."""
    start = time.perf_counter()
    predictions = model.predict(pd.DataFrame({TEXT_COLUMN: frame[TEXT_COLUMN]}))
    seconds = time.perf_counter() - start
    scores = predictions["inbound_probability"].to_numpy(dtype=float)
    metrics = classification_metrics(frame[LABEL_COLUMN].astype(int), scores)
    record: dict[str, Any] = {k: _json_safe(v) for k, v in metrics.items()}
    record.update(
        n=len(frame),
        inbound_share=float(frame[LABEL_COLUMN].mean()),
        seconds=seconds,
        tweets_per_second=len(frame) / seconds if seconds > 0 else None,
    )
    return record, scores


def write_plots(frame: pd.DataFrame, scores: np.ndarray, out_dir: Path, points: int) -> None:
    """ROC points (thinned to `points`) and actual/predicted pairs for DVC's confusion plot."""
    out_dir.mkdir(parents=True, exist_ok=True)
    truth = frame[LABEL_COLUMN].astype(int).to_numpy()
    fpr, tpr, _ = roc_curve(truth, scores)
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(points, len(fpr))).astype(int))
    pd.DataFrame({"fpr": fpr[keep], "tpr": tpr[keep]}).to_csv(out_dir / "roc.csv", index=False)
    names = np.array(["outbound", "inbound"])
    pd.DataFrame({"actual": names[truth], "predicted": names[(scores >= 0.5).astype(int)]}).to_csv(
        out_dir / "confusion.csv", index=False
    )


def main(
    result_path: Annotated[Path, typer.Option(help="train stage's result.json")] = DEFAULT_RESULT,
    test_path: Annotated[Path, typer.Option(help="split to score (parquet or twcs CSV)")] = (
        DEFAULT_TEST
    ),
    metrics_path: Annotated[Path, typer.Option(help="DVC metrics file")] = DEFAULT_METRICS,
    plots_dir: Annotated[Path, typer.Option(help="DVC plot data folder")] = DEFAULT_PLOTS,
    params_path: Annotated[Path, typer.Option(help="params.yaml")] = DEFAULT_PARAMS,
) -> None:
    """Score the comparison's winner on the test split, as served (raw text in)."""
    try:
        params = load_params(params_path).evaluate
        if not result_path.exists():
            raise UserError(f"{result_path} not found; run `dvc repro train` first")
        result = json.loads(result_path.read_text())
        mlflow.set_tracking_uri(get_settings().mlflow_tracking_uri)
        frame = read_labelled(test_path)
        # the train stage's copy when it kept one: the score then needs no MLflow store
        copy = result_path.parent / MODEL_DIR
        source = str(copy) if (copy / "MLmodel").is_file() else result["model_uri"]
        record, scores = evaluate_model(load_model(source), frame)
    except UserError as err:
        typer.secho(f"error: {err}", fg="red", err=True)
        raise typer.Exit(2) from None
    record = {"model": result.get("winner", ""), "model_uri": result["model_uri"], **record}
    metrics_path.parent.mkdir(parents=True, exist_ok=True)
    metrics_path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    write_plots(frame, scores, plots_dir, params.roc_points)
    typer.echo(json.dumps(record))


if __name__ == "__main__":
    typer.run(main)
