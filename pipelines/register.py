"""DVC stage `register`: register the trained candidate and run the promotion gate."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import mlflow
import pandas as pd
import typer

from training.registry import Promotion, register_and_promote
from tweetcare.core.errors import UserError
from tweetcare.core.params import DEFAULT_PARAMS, RegisterParams, load_params
from tweetcare.core.settings import get_settings

DEFAULT_RESULT = Path("artifacts/train/result.json")
DEFAULT_TEST = Path("artifacts/features/test.parquet")
DEFAULT_METRICS = Path("metrics/register.json")


def register(
    result_path: Path, test_path: Path, params: RegisterParams, tracking_uri: str
) -> Promotion:
    """Register the model named in the train stage's `result.json`; alias it by the gate."""
    for path, stage in ((result_path, "train"), (test_path, "featurize")):
        if not path.exists():
            raise UserError(f"{path} not found; run `dvc repro {stage}` first")
    result = json.loads(result_path.read_text())
    mlflow.set_tracking_uri(tracking_uri)
    test = pd.read_parquet(test_path)
    return register_and_promote(
        result["model_uri"], result["run_id"], test, params, result.get("parent_run_id")
    )


def write_metrics(promotion: Promotion, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {**asdict(promotion), "promoted": promotion.promoted}
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def main(
    result_path: Annotated[Path, typer.Option(help="train stage's result.json")] = DEFAULT_RESULT,
    test_path: Annotated[Path, typer.Option(help="test split the gate scores on")] = DEFAULT_TEST,
    metrics_path: Annotated[Path, typer.Option(help="DVC metrics file")] = DEFAULT_METRICS,
    params_path: Annotated[Path, typer.Option(help="params.yaml")] = DEFAULT_PARAMS,
) -> None:
    """Register the candidate as `models.inbound.name` and alias it champion or challenger."""
    try:
        params = RegisterParams.of(load_params(params_path).models, "inbound")
        promotion = register(result_path, test_path, params, get_settings().mlflow_tracking_uri)
    except UserError as err:
        typer.secho(f"error: {err}", fg="red", err=True)
        raise typer.Exit(2) from None
    write_metrics(promotion, metrics_path)
    typer.echo(
        f"{promotion.model_name} v{promotion.version} -> @{promotion.alias}: {promotion.reason}"
    )


if __name__ == "__main__":
    typer.run(main)
