"""Logging an analysis pyfunc: its code travels with it, its output is always a DataFrame.

`code_paths` gets copies of `training/analysis`, the modules every pyfunc shares
(`training/pyfunc.py`, whose `texts_of` is the one input contract, and `training/encoder.py`) and
`tweetcare/core`, so the model server unpickles the model without the training pipeline around it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import mlflow
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

import tweetcare.core
from training.pyfunc import TEXT_COLUMN
from tweetcare.core.errors import UserError

INPUT_SCHEMA = Schema([ColSpec("string", TEXT_COLUMN)])
_ANALYSIS_DIR = Path(__file__).parent
_TRAINING_INIT = _ANALYSIS_DIR.parent / "__init__.py"
# the modules of `training` every pyfunc shares: the input contract and the one encoder
_SHARED = ("pyfunc.py", "encoder.py")
_CORE_DIR = Path(tweetcare.core.__file__).parent
_TWEETCARE_INIT = _CORE_DIR.parent / "__init__.py"
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
    "onnxruntime",
    "transformers",
    "py3langid",
    "vaderSentiment",
    "spacy",
    "model2vec",
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


@contextmanager
def packaged_code() -> Iterator[list[str]]:
    """Copies of `training/analysis`, the shared modules and `tweetcare/core` as importable
    packages."""
    with tempfile.TemporaryDirectory(prefix="tweetcare-analysis-code-") as tmp:
        root = Path(tmp)
        shutil.copytree(_ANALYSIS_DIR, root / "training" / "analysis", ignore=_skip_cache)
        shutil.copyfile(_TRAINING_INIT, root / "training" / "__init__.py")
        for module in _SHARED:
            shutil.copyfile(_ANALYSIS_DIR.parent / module, root / "training" / module)
        shutil.copytree(_CORE_DIR, root / "tweetcare" / "core", ignore=_skip_cache)
        shutil.copyfile(_TWEETCARE_INIT, root / "tweetcare" / "__init__.py")
        yield [str(root / "training"), str(root / "tweetcare")]


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


def _skip_cache(_: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "__pycache__" or n.endswith(".pyc")]


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
