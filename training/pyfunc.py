"""The served model format and the one packager every model family logs through.

Inbound models take raw tweet text and own its cleaning (`clean_text` with the training-time
`mask_handles`), so the server cannot skew from training, and all return `predictions_frame`, so
the server never cares which one is champion. Every pyfunc, inbound or analysis, carries the same
code: the whole `training` and `tweetcare.core` packages. It loads without the project
installed, and two models loaded in one process never see different copies of `training`.
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
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

import tweetcare.core
from tweetcare.core.errors import UserError
from tweetcare.core.text import clean_texts

TEXT_COLUMN = "text"
CLASSIFIER_ARTIFACT = "classifier"
OUTPUT_COLUMNS = ("label", "inbound", "probability", "inbound_probability")

_TRAINING_DIR = Path(__file__).parent
_CORE_DIR = Path(tweetcare.core.__file__).parent


def signature(outputs: dict[str, str]) -> ModelSignature:
    """Text in; the named output columns (MLflow type names) out."""
    return ModelSignature(
        inputs=Schema([ColSpec("string", TEXT_COLUMN)]),
        outputs=Schema([ColSpec(kind, name) for name, kind in outputs.items()]),
    )


SIGNATURE = signature(
    {
        "label": "string",
        "inbound": "boolean",
        "probability": "double",
        "inbound_probability": "double",
    }
)
INPUT_EXAMPLE = pd.DataFrame(
    {TEXT_COLUMN: ["@AppleSupport my phone died after the update", "@123 Sorry! DM us ^JK"]}
)


def texts_of(model_input: Any) -> list[str]:
    """Raw texts from what pyfunc callers pass: a frame with `text`, a Series or a list."""
    if isinstance(model_input, pd.DataFrame):
        column = TEXT_COLUMN if TEXT_COLUMN in model_input.columns else model_input.columns[0]
        values = model_input[column]
    else:
        values = pd.Series(list(model_input), dtype=object)
    return values.fillna("").astype(str).tolist()


def predictions_frame(inbound_probability: np.ndarray) -> pd.DataFrame:
    """The output contract shared by all tweet-inbound models."""
    p_in = np.asarray(inbound_probability, dtype=float)
    inbound = p_in >= 0.5
    return pd.DataFrame(
        {
            "label": np.where(inbound, "inbound", "outbound"),
            "inbound": inbound,
            "probability": np.where(inbound, p_in, 1.0 - p_in),
            "inbound_probability": p_in,
        },
        columns=list(OUTPUT_COLUMNS),
    )


@contextmanager
def packaged_code() -> Iterator[list[str]]:
    """`code_paths`: copies of the whole `training` and `tweetcare.core` packages.

    Every model carries the same complete code, so any of them unpickles and cleans text where
    tweetcare is not installed, and whichever loads first in a process brings all of `training`.
    """
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    with tempfile.TemporaryDirectory(prefix="tweetcare-code-") as tmp:
        root = Path(tmp)
        shutil.copytree(_TRAINING_DIR, root / "training", ignore=skip)
        shutil.copytree(_CORE_DIR, root / "tweetcare" / "core", ignore=skip)
        shutil.copyfile(_CORE_DIR.parent / "__init__.py", root / "tweetcare" / "__init__.py")
        yield [str(root / "training"), str(root / "tweetcare")]


def requirements(*distributions: str, installed_only: bool = False) -> list[str]:
    """Pinned requirements, stated rather than inferred (inference reloads the model: slow);
    with ``installed_only``, a distribution that is not installed is left out."""
    pins = []
    for name in distributions:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            if not installed_only:
                raise
    return pins


# What the analysis pyfuncs import at load and predict time. Named so MLflow need not infer them
# by loading each model in a subprocess (which costs a MiniLM load per logged model).
ANALYSIS_PACKAGES = (
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
def analysis_requirements() -> list[str]:
    """Pins of the installed `ANALYSIS_PACKAGES` (one not installed is left out)."""
    return requirements(*ANALYSIS_PACKAGES, installed_only=True)


@contextmanager
def _model_kwargs(
    python_model: mlflow.pyfunc.PythonModel,
    artifacts: dict[str, str],
    signature: ModelSignature,
    pip_requirements: list[str],
    input_example: pd.DataFrame | None,
) -> Iterator[dict[str, Any]]:
    with packaged_code() as code_paths:
        yield {
            "python_model": python_model,
            "artifacts": artifacts,
            "code_paths": code_paths,
            "signature": signature,
            "input_example": input_example,
            "pip_requirements": pip_requirements,
        }


def log_pyfunc(
    python_model: mlflow.pyfunc.PythonModel,
    artifacts: dict[str, str],
    signature: ModelSignature,
    pip_requirements: list[str],
    name: str = "model",
    input_example: pd.DataFrame | None = None,
) -> mlflow.models.model.ModelInfo:
    """Log ``python_model`` with its artifacts and the packaged code to the active run."""
    if mlflow.active_run() is None:
        raise UserError("log_pyfunc needs an active MLflow run")
    with _model_kwargs(
        python_model, artifacts, signature, pip_requirements, input_example
    ) as kwargs:
        return mlflow.pyfunc.log_model(name=name, **kwargs)


def save_pyfunc(
    python_model: mlflow.pyfunc.PythonModel,
    artifacts: dict[str, str],
    signature: ModelSignature,
    pip_requirements: list[str],
    path: Path,
    input_example: pd.DataFrame | None = None,
) -> None:
    """The same pyfunc saved to a local folder (tests, offline checks)."""
    with _model_kwargs(
        python_model, artifacts, signature, pip_requirements, input_example
    ) as kwargs:
        mlflow.pyfunc.save_model(str(path), **kwargs)


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


class SklearnTweetModel(mlflow.pyfunc.PythonModel):
    """A fitted scikit-learn text pipeline behind the shared cleaning and output contract."""

    def __init__(self, mask_handles: bool) -> None:
        self.mask_handles = mask_handles
        self.classifier: Any = None

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        self.classifier = mlflow.sklearn.load_model(context.artifacts[CLASSIFIER_ARTIFACT])

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        texts = clean_texts(texts_of(model_input), mask_handles=self.mask_handles)
        if not texts:
            return predictions_frame(np.empty(0))
        proba = self.classifier.predict_proba(texts)
        positive = list(self.classifier.classes_).index(1)
        return predictions_frame(proba[:, positive])


# stated, not inferred: inference reloads the model in a subprocess (tens of seconds)
SKLEARN_REQUIREMENTS = requirements("mlflow", "scikit-learn", "skops", "pandas", "numpy")


def _save_classifier(classifier: Any, directory: Path) -> dict[str, str]:
    path = directory / CLASSIFIER_ARTIFACT
    mlflow.sklearn.save_model(classifier, str(path), pip_requirements=SKLEARN_REQUIREMENTS)
    return {CLASSIFIER_ARTIFACT: str(path)}


def log_sklearn_pyfunc(
    classifier: Any, mask_handles: bool, name: str = "model"
) -> mlflow.models.model.ModelInfo:
    """Log the classifier as a text-in pyfunc to the active run."""
    with tempfile.TemporaryDirectory() as tmp:
        return log_pyfunc(
            SklearnTweetModel(mask_handles=mask_handles),
            _save_classifier(classifier, Path(tmp)),
            SIGNATURE,
            SKLEARN_REQUIREMENTS,
            name=name,
            input_example=INPUT_EXAMPLE,
        )


def save_sklearn_pyfunc(classifier: Any, mask_handles: bool, path: Path) -> None:
    """Save the same pyfunc to a local folder (tests, offline checks)."""
    with tempfile.TemporaryDirectory() as tmp:
        save_pyfunc(
            SklearnTweetModel(mask_handles=mask_handles),
            _save_classifier(classifier, Path(tmp)),
            SIGNATURE,
            SKLEARN_REQUIREMENTS,
            path,
            input_example=INPUT_EXAMPLE,
        )
