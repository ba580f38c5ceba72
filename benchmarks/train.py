"""Wall time of the model comparison, per model and in all, on this machine (and on a GPU if any).

    python benchmarks/train.py [--features-dir artifacts/features] [--profile quick|full]
    python benchmarks/train.py --cell gru [--before '{"batch_size": 64}'] [--rounds 1]
        [--real ../shared/data/twcs_sample_1k.csv]

Runs the same comparison as the DVC `train` stage on already featurized splits, into a
throwaway MLflow store, and prints one row per model: training time, test accuracy and F1,
latency at batch 1 and 256 and throughput. With a CUDA device, the sequence models train on
it too (`train.sequence.accelerator=gpu`) and a second table shows those times.

With `--cell`, only that recurrent family trains, under the sequence settings before issue 31
(`BEFORE`, or `--before`'s JSON over params.yaml's) and under params.yaml's, alternately in one
run: seconds per epoch (validation pass included), epochs, test F1 and, when the file exists,
F1 on real twcs tweets by their `inbound` flag; then the ratio of the epoch times.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import torch
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from pipelines.train import TrainResult, load_splits, train
from training.families import SEQUENCE_CELLS, fit_family
from training.metrics import classification_metrics
from tweetcare.core.errors import describe_validation
from tweetcare.core.params import DEFAULT_PARAMS, SequenceParams, TrainParams, load_params

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
ROOT = Path(__file__).resolve().parents[1]
# the recurrent nets' settings before issue 31, the `--cell` run's "before" column
BEFORE = {
    "batch_size": 64,
    "learning_rate": 0.002,
    "threads": 1,
    "accelerator": "cpu",
    "group_by_length": False,
}
# real twcs tweets with their `inbound` flag, beside the checkout (never copied into it)
REAL_TWEETS = ROOT.parent / "shared" / "data" / "twcs_sample_1k.csv"


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


def fit_cell(
    cell: str, splits: dict, params: TrainParams, weight: int, real: pd.DataFrame | None
) -> dict[str, float]:
    """One fit of a recurrent family: its epoch times and its F1s."""
    start = time.perf_counter()
    fitted = fit_family(cell, splits, params, params.mask_handles, corrections_weight=weight)
    figures = {
        "fit_seconds": time.perf_counter() - start,
        "seconds_per_epoch": fitted.metrics["seconds_per_epoch"],
        "epochs": fitted.metrics["epochs_trained"],
    }
    scored = {"test": splits["test"]} | ({} if real is None else {"real": real})
    for name, frame in scored.items():
        found = fitted.inbound_probability(frame["text"].astype(str).tolist())
        figures[f"{name}_f1"] = classification_metrics(frame["inbound"].astype(int), found)["f1"]
    return figures


def compare_settings(
    cell: str,
    features: Path,
    params: TrainParams,
    before: SequenceParams,
    weight: int,
    rounds: int,
    real_path: Path,
) -> None:
    """The cell under `before` and under `params`, alternately for `rounds` rounds."""
    splits = load_splits(features)
    real = None
    if real_path.exists():
        real = pd.read_csv(real_path, dtype=str, keep_default_na=False)
        real = real.assign(inbound=real["inbound"].str.lower() == "true")
    settings = {
        "before": params.model_copy(update={"sequence": before}),
        "params.yaml": params,
    }
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in settings}
    for round_ in range(rounds):
        for name, chosen in settings.items():
            console.print(f"round {round_ + 1}: {cell} under {name} settings", highlight=False)
            rows[name].append(fit_cell(cell, splits, chosen, weight, real))
    table = Table(
        title=f"{cell} on {len(splits['train']):,} training tweets, profile {params.profile}"
    )
    for column in ("settings", "s/epoch", "epochs", "fit s", "test F1", "real F1"):
        table.add_column(column, justify="right")
    for name, fits in rows.items():
        for figures in fits:
            table.add_row(
                name,
                f"{figures['seconds_per_epoch']:.1f}",
                f"{figures['epochs']:.0f}",
                f"{figures['fit_seconds']:.0f}",
                f"{figures['test_f1']:.4f}",
                f"{figures['real_f1']:.4f}" if "real_f1" in figures else "—",
            )
    console.print(table)
    per_epoch = {
        name: float(np.mean([f["seconds_per_epoch"] for f in fits])) for name, fits in rows.items()
    }
    console.print(
        f"before: {json.dumps(settings['before'].sequence.model_dump())}\n"
        f"params.yaml: {json.dumps(params.sequence.model_dump())}\n"
        f"epoch time params.yaml / before: {per_epoch['params.yaml'] / per_epoch['before']:.2f}"
        + ("" if real is not None else f"\nno {real_path}: real-tweet F1 skipped"),
        highlight=False,
    )


def main(
    features_dir: Annotated[Path, typer.Option(help="featurized splits")] = Path(
        "artifacts/features"
    ),
    profile: Annotated[str, typer.Option(help="train profile: quick or full")] = "quick",
    params_path: Annotated[Path, typer.Option(help="params.yaml")] = DEFAULT_PARAMS,
    cell: Annotated[
        str | None, typer.Option(help="only this recurrent family, before vs params.yaml")
    ] = None,
    before: Annotated[
        str, typer.Option(help="JSON of train.sequence settings for the before column")
    ] = json.dumps(BEFORE),
    rounds: Annotated[int, typer.Option(help="--cell: fits per settings, alternating")] = 1,
    real: Annotated[Path, typer.Option(help="--cell: real twcs CSV with `inbound`")] = REAL_TWEETS,
) -> None:
    loaded = load_params(params_path)
    params = loaded.train.model_copy(update={"profile": profile})
    # the featurized corrections, when any, weigh what they weigh in the pipeline
    weight = loaded.data.corrections_weight
    if cell is not None:
        if cell not in SEQUENCE_CELLS:
            raise typer.BadParameter(f"{cell!r}; known: {', '.join(SEQUENCE_CELLS)}")
        chosen = params.for_profile()
        try:
            overrides = json.loads(before)
            old = SequenceParams.model_validate({**chosen.sequence.model_dump(), **overrides})
        except json.JSONDecodeError as err:
            raise typer.BadParameter(f"--before is not JSON: {err}") from None
        except ValidationError as err:
            raise typer.BadParameter(f"--before: {describe_validation(err)}") from None
        compare_settings(cell, features_dir, chosen, old, weight, rounds, real)
        return
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
