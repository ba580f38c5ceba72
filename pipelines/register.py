"""DVC stage `register`: register the trained candidate and run the promotion gate.

The stage owns the MLflow store (`register.registry_file`), so DVC reruns it when the store is
gone; it then puts the pipeline's models back from the copies the train stages keep, and
otherwise reuses what is already registered, so a rerun adds no duplicate versions.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import mlflow
import pandas as pd
import typer
from mlflow.tracking import MlflowClient

from training.analysis.heldout import HELDOUT_DIR, read_heldout
from training.registry import (
    Promotion,
    analysis_heldout,
    gate,
    previous_promotion,
    register_and_promote,
)
from training.restore import (
    MODEL_DIR,
    in_store,
    mark_registry,
    registered_from,
    restore_run,
)
from tweetcare.core.contract import ANALYSIS_EXPERIMENT, INBOUND_EXPERIMENT, SOURCE_TAG
from tweetcare.core.errors import UserError
from tweetcare.core.params import DEFAULT_PARAMS, Budget, RegisterParams, load_params
from tweetcare.core.settings import get_settings

DEFAULT_RESULT = Path("artifacts/train/result.json")
DEFAULT_TEST = Path("artifacts/features/test.parquet")
DEFAULT_METRICS = Path("metrics/register.json")
DEFAULT_ANALYSIS = Path("artifacts/analysis/report.json")


def register(
    result_path: Path, test_path: Path, params: RegisterParams, tracking_uri: str
) -> Promotion:
    """Register the model named in the train stage's `result.json`; alias it by the gate."""
    for path, stage in ((result_path, "train"), (test_path, "featurize")):
        if not path.exists():
            raise UserError(f"{path} not found; run `dvc repro {stage}` first")
    result = json.loads(result_path.read_text())
    mlflow.set_tracking_uri(tracking_uri)
    source = result["model_uri"]
    previous = previous_promotion(source, params)
    if previous is not None:
        return previous
    model_uri, run_id, parent = source, result["run_id"], result.get("parent_run_id")
    if not in_store(MlflowClient(), source):
        model_uri, run_id = restore_run(
            result_path.parent / MODEL_DIR,
            INBOUND_EXPERIMENT,
            f"{result.get('winner') or 'winner'} (restored)",
            result.get("metrics", {}),
            {SOURCE_TAG: source},
        )
        parent = None
    test = pd.read_parquet(test_path)
    return register_and_promote(model_uri, run_id, test, params, parent, source_uri=source)


def restore_analysis(
    report_path: Path, tracking_uri: str, budgets: dict[str, Budget]
) -> list[Promotion]:
    """Register again, through the gate on the same held-out tweets train_analysis judged it
    on, each analysis model the store no longer holds."""
    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient()
    restored: list[Promotion] = []
    for key, entry in json.loads(report_path.read_text()).items():
        name, source = entry["registered"]["name"], entry["registered"].get("model_uri")
        if source is None or registered_from(client, name, source) is not None:
            continue  # registered by train_analysis (or an earlier rerun): nothing lost
        model_uri, run_id = source, entry["registered"]["run_id"]
        if not in_store(client, source):
            model_uri, run_id = restore_run(
                report_path.parent / "models" / key,
                ANALYSIS_EXPERIMENT,
                f"{key} (restored)",
                {},
                {SOURCE_TAG: source},
            )
        if key not in budgets:
            raise UserError(f"register.analysis has no budget for the {key} model ({name})")
        heldout = analysis_heldout(key, read_heldout(report_path.parent / HELDOUT_DIR, key))
        restored.append(gate(name, model_uri, run_id, heldout, budgets[key], source_uri=source))
    return restored


def write_metrics(promotion: Promotion, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {**asdict(promotion), "promoted": promotion.promoted}
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def main(
    result_path: Annotated[Path, typer.Option(help="train stage's result.json")] = DEFAULT_RESULT,
    test_path: Annotated[Path, typer.Option(help="test split the gate scores on")] = DEFAULT_TEST,
    metrics_path: Annotated[Path, typer.Option(help="DVC metrics file")] = DEFAULT_METRICS,
    params_path: Annotated[Path, typer.Option(help="params.yaml")] = DEFAULT_PARAMS,
    analysis_report: Annotated[
        Path, typer.Option(help="train_analysis's report.json: its models are restored if lost")
    ] = DEFAULT_ANALYSIS,
    registry_file: Annotated[
        Path | None,
        typer.Option(help="the file DVC follows as the registry (dvc.yaml passes it)"),
    ] = None,
) -> None:
    """Register the candidate as `register.model_name` and alias it champion or challenger."""
    try:
        params = load_params(params_path).register_
        tracking_uri = get_settings().mlflow_tracking_uri
        promotion = register(result_path, test_path, params, tracking_uri)
        restored = []
        if analysis_report.is_file():
            restored = restore_analysis(analysis_report, tracking_uri, params.analysis)
        if registry_file is not None:
            registered: dict[str, Any] = {promotion.model_name: promotion.version}
            mark_registry(registry_file, tracking_uri, registered)
    except UserError as err:
        typer.secho(f"error: {err}", fg="red", err=True)
        raise typer.Exit(2) from None
    write_metrics(promotion, metrics_path)
    typer.echo(
        f"{promotion.model_name} v{promotion.version} -> @{promotion.alias}: {promotion.reason}"
    )
    for gated in restored:
        typer.echo(
            f"restored {gated.model_name} v{gated.version} from its DVC copy "
            f"-> @{gated.alias}: {gated.reason}"
        )


if __name__ == "__main__":
    typer.run(main)
