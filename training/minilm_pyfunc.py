"""The pretrained MiniLM encoder with a trained logistic head, as a served pyfunc.

Raw text → `clean_text` → MiniLM's own WordPiece tokenizer → mean-pooled, L2-normalised
sentence embedding → head. The encoder folder (weights + tokenizer) is logged as an artifact,
so the served model does not depend on what happens to be installed; it always loads offline.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from training.pyfunc import (
    INPUT_EXAMPLE,
    SIGNATURE,
    packaged_code,
    predictions_frame,
    requirements,
    texts_of,
)
from tweetcare.core.text import clean_texts

ENCODER_ARTIFACT = "encoder"
HEAD_ARTIFACT = "head"
CODE_MODULES = ("minilm_pyfunc.py",)
REQUIREMENTS = ("mlflow", "torch", "transformers", "tokenizers", "pandas", "numpy", "tqdm")
# calls this large show a progress bar (training, evaluation); the server sends <= 1024 texts
PROGRESS_MIN_TEXTS = 1025


@dataclass
class Encoder:
    """MiniLM and its tokenizer, with the pooling the sentence-transformers model was trained for."""

    tokenizer: Any
    model: Any
    max_length: int
    batch_size: int

    def embed(self, cleaned: list[str], description: str = "MiniLM") -> np.ndarray:
        """Embeddings in input order; texts are batched by length so batches carry little padding
        (about twice as fast on tweets, whose lengths vary a lot)."""
        order = np.argsort([len(text) for text in cleaned], kind="stable")
        ordered = [cleaned[i] for i in order]
        chunks = range(0, len(ordered), self.batch_size)
        out: list[np.ndarray] = []
        with torch.inference_mode():
            for start in tqdm(
                chunks, desc=description, disable=len(ordered) < PROGRESS_MIN_TEXTS, leave=False
            ):
                batch = self.tokenizer(
                    ordered[start : start + self.batch_size],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out.append(torch.nn.functional.normalize(pooled, dim=1).numpy())
        if not out:
            return np.empty((0, self.model.config.hidden_size))
        embeddings = np.empty((len(ordered), out[0].shape[1]), dtype=out[0].dtype)
        embeddings[order] = np.concatenate(out)
        return embeddings


def load_encoder(path: Path | str, max_length: int, batch_size: int) -> Encoder:
    """Load MiniLM from a local folder only: there is no model hub to reach."""
    from transformers import AutoModel, AutoTokenizer

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
    return Encoder(tokenizer, model, max_length, batch_size)


def head_probabilities(embeddings: np.ndarray, weights: np.ndarray, bias: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(embeddings @ weights + bias)))


class MiniLMTweetModel(mlflow.pyfunc.PythonModel):
    def __init__(self, mask_handles: bool, max_length: int, batch_size: int) -> None:
        self.mask_handles = mask_handles
        self.max_length = max_length
        self.batch_size = batch_size
        self.encoder: Encoder | None = None
        self.weights = np.empty(0)
        self.bias = 0.0

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        self.encoder = load_encoder(
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
    encoder_dir: Path, weights: np.ndarray, bias: float, directory: Path
) -> dict[str, str]:
    head = directory / "head.json"
    head.write_text(json.dumps({"weights": weights.tolist(), "bias": bias}))
    return {ENCODER_ARTIFACT: str(encoder_dir), HEAD_ARTIFACT: str(head)}


def _model_kwargs(
    encoder_dir: Path,
    weights: np.ndarray,
    bias: float,
    mask_handles: bool,
    encoder: Encoder,
    directory: Path,
) -> dict[str, Any]:
    return {
        "python_model": MiniLMTweetModel(mask_handles, encoder.max_length, encoder.batch_size),
        "artifacts": _artifacts(encoder_dir, weights, bias, directory),
        "signature": SIGNATURE,
        "input_example": INPUT_EXAMPLE,
        "pip_requirements": requirements(*REQUIREMENTS),
    }


def log_minilm_pyfunc(
    encoder_dir: Path,
    encoder: Encoder,
    weights: np.ndarray,
    bias: float,
    mask_handles: bool,
    name: str = "model",
) -> mlflow.models.model.ModelInfo:
    with tempfile.TemporaryDirectory() as tmp, packaged_code(*CODE_MODULES) as code_paths:
        kwargs = _model_kwargs(encoder_dir, weights, bias, mask_handles, encoder, Path(tmp))
        return mlflow.pyfunc.log_model(name=name, code_paths=code_paths, **kwargs)


def save_minilm_pyfunc(
    encoder_dir: Path,
    encoder: Encoder,
    weights: np.ndarray,
    bias: float,
    mask_handles: bool,
    path: Path,
) -> None:
    with tempfile.TemporaryDirectory() as tmp, packaged_code(*CODE_MODULES) as code_paths:
        kwargs = _model_kwargs(encoder_dir, weights, bias, mask_handles, encoder, Path(tmp))
        mlflow.pyfunc.save_model(str(path), code_paths=code_paths, **kwargs)
