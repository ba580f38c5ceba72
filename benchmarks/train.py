"""Wall time of the model comparison, per model and in all, on this machine (and on a GPU if any).

    python benchmarks/train.py [--features-dir artifacts/features] [--profile quick|full]

Runs the same comparison as the DVC `train` stage on already featurized splits, into a
throwaway MLflow store, and prints one row per model: training time, test accuracy and F1,
latency at batch 1 and 256 and throughput. With a CUDA device, the sequence models train on
it too (`train.sequence.accelerator=gpu`) and a second table shows those times.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Annotated

import torch
import typer
from rich.console import Console
from rich.table import Table

from pipelines.train import TrainResult, train
from tweetcare.core.params import DEFAULT_PARAMS, TrainParams, load_params

# wide enough for the whole table when piped to a file or a narrow terminal
console = Console(width=150)
COLUMNS = (
    ("train_seconds", "train s", "{:.1f}"),
    ("test_accuracy", "test acc", "{:.4f}"),
    ("test_f1", "test F1", "{:.4f}"),
    ("test_f1_raw", "test F1 raw", "{:.4f}"),
    ("latency_ms_per_tweet_b1", "ms/tweet b1", "{:.3f}"),
    ("latency_ms_per_tweet_b256", "ms/tweet b256", "{:.4f}"),
    ("tweets_per_second_b256", "tweets/s b256", "{:,.0f}"),
)


def run_once(
    features: Path, params: TrainParams, label: str, corrections_weight: int
) -> tuple[TrainResult, float]:
    with tempfile.TemporaryDirectory(prefix="tweetcare-bench-") as tmp:
        start = time.perf_counter()
        result = train(
            features,
            params,
            Path(tmp) / "out",
            f"sqlite:///{tmp}/mlflow.db",
            corrections_weight=corrections_weight,
        )
        seconds = time.perf_counter() - start
    show(result, seconds, label)
    return result, seconds


def show(result: TrainResult, seconds: float, label: str) -> None:
    table = Table(title=f"{label}: whole comparison {seconds:.0f} s, winner {result.winner}")
    table.add_column("model")
    for _, title, _ in COLUMNS:
        table.add_column(title, justify="right")
    for name, metrics in (result.models or {}).items():
        cells = [fmt.format(metrics[key]) if key in metrics else "—" for key, _, fmt in COLUMNS]
        table.add_row(name, *cells)
    console.print(table)


def main(
    features_dir: Annotated[Path, typer.Option(help="featurized splits")] = Path(
        "artifacts/features"
    ),
    profile: Annotated[str, typer.Option(help="train profile: quick or full")] = "quick",
    params_path: Annotated[Path, typer.Option(help="params.yaml")] = DEFAULT_PARAMS,
) -> None:
    loaded = load_params(params_path)
    params = loaded.train.model_copy(update={"profile": profile})
    # the featurized corrections, when any, weigh what they weigh in the pipeline
    weight = loaded.data.corrections_weight
    console.print(f"CPU threads available: {torch.get_num_threads()}; profile {profile}")
    run_once(features_dir, params, "CPU", weight)
    if torch.cuda.is_available():
        gpu = params.model_copy(
            update={"sequence": params.sequence.model_copy(update={"accelerator": "gpu"})}
        )
        run_once(features_dir, gpu, f"GPU {torch.cuda.get_device_name(0)}", weight)
    else:
        console.print("no CUDA device here: GPU figures skipped")


if __name__ == "__main__":
    typer.run(main)
