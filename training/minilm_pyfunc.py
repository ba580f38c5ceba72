"""The pretrained MiniLM encoder with a trained logistic head, as a served pyfunc.

Raw text → `clean_text` → the shared int8 MiniLM encoder (`training/encoder.py`: WordPiece,
mean-pooled, L2-normalised sentence embedding) → head. The encoder folder is logged as an
artifact, so the served model does not depend on what happens to be installed; it always loads
offline.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd

from training.encoder import SentenceEncoder
from training.pyfunc import (
    INPUT_EXAMPLE,
    SIGNATURE,
    log_pyfunc,
    predictions_frame,
    requirements,
    save_pyfunc,
    texts_of,
)
from tweetcare.core.text import clean_texts

ENCODER_ARTIFACT = "encoder"
HEAD_ARTIFACT = "head"
REQUIREMENTS = ("mlflow", "onnxruntime", "transformers", "tokenizers", "pandas", "numpy", "tqdm")


def head_probabilities(embeddings: np.ndarray, weights: np.ndarray, bias: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(embeddings @ weights + bias)))


class MiniLMTweetModel(mlflow.pyfunc.PythonModel):
    def __init__(self, mask_handles: bool, max_length: int, batch_size: int) -> None:
        self.mask_handles = mask_handles
        self.max_length = max_length
        self.batch_size = batch_size
        self.encoder: SentenceEncoder | None = None
        self.weights = np.empty(0)
        self.bias = 0.0

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        self.encoder = SentenceEncoder(
            context.artifacts[ENCODER_ARTIFACT], self.max_length, self.batch_size
        )
        head = json.loads(Path(context.artifacts[HEAD_ARTIFACT]).read_text())
        self.weights, self.bias = np.asarray(head["weights"]), float(head["bias"])

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        if self.encoder is None:
            raise RuntimeError("model used before load_context")
        texts = clean_texts(texts_of(model_input), mask_handles=self.mask_handles)
        if not texts:
            return predictions_frame(np.empty(0))
        embeddings = self.encoder.embed(texts)
        return predictions_frame(head_probabilities(embeddings, self.weights, self.bias))


def _artifacts(
    encoder: SentenceEncoder, weights: np.ndarray, bias: float, directory: Path
) -> dict[str, str]:
    head = directory / "head.json"
    head.write_text(json.dumps({"weights": weights.tolist(), "bias": bias}))
    return {ENCODER_ARTIFACT: str(encoder.folder), HEAD_ARTIFACT: str(head)}


def _model(
    encoder: SentenceEncoder, weights: np.ndarray, bias: float, mask_handles: bool, directory: Path
) -> dict[str, Any]:
    """The pyfunc's model, artifacts, signature, requirements and input example."""
    return {
        "python_model": MiniLMTweetModel(mask_handles, encoder.max_length, encoder.batch_size),
        "artifacts": _artifacts(encoder, weights, bias, directory),
        "signature": SIGNATURE,
        "pip_requirements": requirements(*REQUIREMENTS),
        "input_example": INPUT_EXAMPLE,
    }


def log_minilm_pyfunc(
    encoder: SentenceEncoder,
    weights: np.ndarray,
    bias: float,
    mask_handles: bool,
    name: str = "model",
) -> mlflow.models.model.ModelInfo:
    with tempfile.TemporaryDirectory() as tmp:
        return log_pyfunc(**_model(encoder, weights, bias, mask_handles, Path(tmp)), name=name)


def save_minilm_pyfunc(
    encoder: SentenceEncoder,
    weights: np.ndarray,
    bias: float,
    mask_handles: bool,
    path: Path,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        save_pyfunc(**_model(encoder, weights, bias, mask_handles, Path(tmp)), path=path)
