"""The served model format: an MLflow pyfunc that takes raw tweet text and owns its cleaning.

Packaging `clean_text` (with the training-time `mask_handles`) inside the model means the server
cannot skew from training. Every model family (baseline, GRU, transformer) returns the same
frame, built by `predictions_frame`, so the server never cares which one is champion.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

import tweetcare.core.text
from tweetcare.core.text import clean_texts

TEXT_COLUMN = "text"
CLASSIFIER_ARTIFACT = "classifier"
OUTPUT_COLUMNS = ("label", "inbound", "probability", "inbound_probability")

SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec("string", TEXT_COLUMN)]),
    outputs=Schema(
        [
            ColSpec("string", "label"),
            ColSpec("boolean", "inbound"),
            ColSpec("double", "probability"),
            ColSpec("double", "inbound_probability"),
        ]
    ),
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


@contextmanager
def packaged_code(*training_modules: str) -> Iterator[list[str]]:
    """`code_paths` holding only this module, the text cleaning and the named `training` modules.

    Copying just these files (not the whole project) keeps the model self-contained: a process
    without tweetcare installed can still unpickle the model and clean text the same way.
    """
    here = Path(__file__).parent
    modules = {
        Path("training") / "__init__.py": here / "__init__.py",
        Path("training") / "pyfunc.py": Path(__file__),
        **{Path("training") / name: here / name for name in training_modules},
        Path("tweetcare") / "__init__.py": Path(tweetcare.__file__),
        Path("tweetcare") / "core" / "__init__.py": Path(tweetcare.core.__file__),
        Path("tweetcare") / "core" / "text.py": Path(tweetcare.core.text.__file__),
    }
    with tempfile.TemporaryDirectory(prefix="tweetcare-code-") as tmp:
        root = Path(tmp)
        for target, source in modules.items():
            (root / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, root / target)
        yield [str(root / "training"), str(root / "tweetcare")]


def requirements(*distributions: str) -> list[str]:
    """Pinned requirements, stated rather than inferred (inference reloads the model: slow)."""
    return [f"{name}=={version(name)}" for name in distributions]


# stated, not inferred: inference reloads the model in a subprocess (tens of seconds)
SKLEARN_REQUIREMENTS = requirements("mlflow", "scikit-learn", "skops", "pandas", "numpy")


def _save_classifier(classifier: Any, directory: Path) -> Path:
    path = directory / CLASSIFIER_ARTIFACT
    mlflow.sklearn.save_model(classifier, str(path), pip_requirements=SKLEARN_REQUIREMENTS)
    return path


def log_sklearn_pyfunc(
    classifier: Any, mask_handles: bool, name: str = "model"
) -> mlflow.models.model.ModelInfo:
    """Log the classifier as a text-in pyfunc to the active run."""
    with tempfile.TemporaryDirectory() as tmp, packaged_code() as code_paths:
        artifact = _save_classifier(classifier, Path(tmp))
        return mlflow.pyfunc.log_model(
            name=name,
            python_model=SklearnTweetModel(mask_handles=mask_handles),
            artifacts={CLASSIFIER_ARTIFACT: str(artifact)},
            code_paths=code_paths,
            signature=SIGNATURE,
            input_example=INPUT_EXAMPLE,
            pip_requirements=SKLEARN_REQUIREMENTS,
        )


def save_sklearn_pyfunc(classifier: Any, mask_handles: bool, path: Path) -> None:
    """Save the same pyfunc to a local folder (tests, offline checks)."""
    with tempfile.TemporaryDirectory() as tmp, packaged_code() as code_paths:
        artifact = _save_classifier(classifier, Path(tmp))
        mlflow.pyfunc.save_model(
            str(path),
            python_model=SklearnTweetModel(mask_handles=mask_handles),
            artifacts={CLASSIFIER_ARTIFACT: str(artifact)},
            code_paths=code_paths,
            signature=SIGNATURE,
            input_example=INPUT_EXAMPLE,
            pip_requirements=SKLEARN_REQUIREMENTS,
        )
