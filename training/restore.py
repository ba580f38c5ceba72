"""The registry as part of the pipeline's state: a lost MLflow store is rebuilt from DVC.

The train and train_analysis stages keep a copy of each model they log among their outputs,
which DVC caches. The register stage owns the store (`register.registry_file` in dvc.yaml), so
when the store is deleted DVC reruns register, and register puts every model back from those
copies: a fresh run holding the copy, the metrics it was trained with, and a registered version.
Registering is idempotent: a model whose logged copy is already registered is not registered
again, so rerunning register after something else wrote to the store changes nothing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from tweetcare.core.contract import SOURCE_TAG
from tweetcare.core.errors import UserError

# the model copy inside a stage's output folder, and the artifact path of a restored run
MODEL_DIR = "model"
# on a restored run: the stage copy it was logged again from
RESTORED_TAG = "tweetcare.restored_from"
# a register.registry_file with this suffix is a local sqlite store; anything else, a receipt
STORE_SUFFIX = ".db"


def keep_copy(model_uri: str, dst: Path) -> Path:
    """Download a logged model into `dst` (replacing what was there) for DVC to cache."""
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    return Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(dst)))


def in_store(client: MlflowClient, model_uri: str) -> bool:
    """Whether the store still holds the logged model (`models:/m-…`) or run (`runs:/…`)."""
    try:
        if model_uri.startswith("models:/m-"):
            client.get_logged_model(model_uri.removeprefix("models:/"))
        elif model_uri.startswith("runs:/"):
            client.get_run(model_uri.removeprefix("runs:/").split("/", 1)[0])
        else:
            return Path(model_uri.removeprefix("file://")).exists()
    except MlflowException:
        return False
    return True


def registered_from(client: MlflowClient, name: str, model_uri: str) -> ModelVersion | None:
    """The version of `name` registered from `model_uri` (by source or by our tag), if any."""
    try:
        versions = client.search_model_versions(f"name = '{name}'")
    except MlflowException:
        return None
    model_id = model_uri.removeprefix("models:/") if model_uri.startswith("models:/m-") else None
    for version in sorted(versions, key=lambda v: int(v.version), reverse=True):
        if version.tags.get(SOURCE_TAG) == model_uri:
            return version
        if model_id is not None and getattr(version, "model_id", None) == model_id:
            return version
    return None


def restore_run(
    copy: Path,
    experiment: str,
    run_name: str,
    metrics: dict[str, float],
    tags: dict[str, str],
) -> tuple[str, str]:
    """Log the DVC copy of a model into a fresh run; returns (model uri, run id)."""
    if not (copy / "MLmodel").is_file():
        raise UserError(
            f"the MLflow store lost its models and {copy} holds no copy to restore them from; "
            "rerun the stage that trains it (`dvc repro -f train train_analysis`)"
        )
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.set_tags({**tags, RESTORED_TAG: str(copy)})
        numbers = {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}
        if numbers:
            mlflow.log_metrics(numbers)
        mlflow.log_artifacts(str(copy), MODEL_DIR)
    return f"runs:/{run.info.run_id}/{MODEL_DIR}", run.info.run_id


def tag_source(client: MlflowClient, name: str, version: str, model_uri: str) -> None:
    client.set_model_version_tag(name, version, SOURCE_TAG, model_uri)


def sqlite_path(tracking_uri: str) -> Path | None:
    if not tracking_uri.startswith("sqlite:///"):
        return None
    return Path(tracking_uri.removeprefix("sqlite:///"))


def store_uri(registry_file: Path) -> str | None:
    """The sqlite tracking URI of a registry file that is a local store; None for a receipt."""
    return f"sqlite:///{registry_file}" if registry_file.suffix == STORE_SUFFIX else None


def mark_registry(path: Path, tracking_uri: str, registered: dict[str, Any]) -> None:
    """Leave the file DVC follows as register's output: the sqlite store itself, or a receipt.

    With a tracking server DVC cannot see the store, so the stage writes a receipt of what it
    registered where `register.registry_file` says; that path must not be a local store.
    """
    store = sqlite_path(tracking_uri)
    if store is not None and store.resolve() == path.resolve():
        return
    if store_uri(path) is not None:
        raise UserError(
            f"register.registry_file is {path}, a local store, but MLflow tracks to "
            f"{tracking_uri}; point it at a receipt, e.g. "
            "`dvc exp run -S register.registry_file=artifacts/registry.json`"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    receipt = {"tracking_uri": tracking_uri, "registered": registered}
    path.write_text(json.dumps(receipt, indent=2, sort_keys=True) + "\n")
