"""The Simple RNN / LSTM / GRU as a served pyfunc: raw text → clean_text → tokenizer → network.

Artifacts are the tokenizer JSON, the network config JSON and the weights as safetensors (no
pickled torch objects, no torch.export), so `mlflow.pyfunc.load_model` rebuilds the network in
any process with torch installed; the code for cleaning, tokenizing and the network travels with
it (`training.pyfunc.packaged_code`).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer

from training.networks import NetworkConfig, RecurrentClassifier
from training.pyfunc import (
    INPUT_EXAMPLE,
    SIGNATURE,
    log_pyfunc,
    predictions_frame,
    requirements,
    save_pyfunc,
    texts_of,
)
from training.tokenizer import encode, load_tokenizer, save_tokenizer
from tweetcare.core.text import clean_texts

TOKENIZER_ARTIFACT = "tokenizer"
CONFIG_ARTIFACT = "network_config"
WEIGHTS_ARTIFACT = "weights"
# texts scored per forward pass: bounds memory on large calls without slowing small ones
INFERENCE_BATCH = 1024
REQUIREMENTS = ("mlflow", "torch", "tokenizers", "safetensors", "pandas", "numpy")


def sequence_probabilities(
    network: RecurrentClassifier, tokenizer: Tokenizer, cleaned: list[str]
) -> np.ndarray:
    """Inbound probability of each already-cleaned text, in chunks of `INFERENCE_BATCH`."""
    network.eval()
    out: list[np.ndarray] = []
    with torch.inference_mode():
        for start in range(0, len(cleaned), INFERENCE_BATCH):
            ids, lengths = encode(tokenizer, cleaned[start : start + INFERENCE_BATCH])
            logits = network(torch.from_numpy(ids), torch.from_numpy(lengths))
            out.append(torch.sigmoid(logits).cpu().numpy())
    return np.concatenate(out) if out else np.empty(0)


class SequenceTweetModel(mlflow.pyfunc.PythonModel):
    """A trained recurrent classifier behind the shared cleaning and output contract."""

    def __init__(self, mask_handles: bool, threads: int = 0) -> None:
        self.mask_handles = mask_handles
        # torch threads for inference (0: leave torch's default). Small recurrent ops gain
        # little from a second thread and, on a busy 2-core box, OpenMP spinning can cost 10x.
        self.threads = threads
        self.network: RecurrentClassifier | None = None
        self.tokenizer: Tokenizer | None = None

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        if getattr(self, "threads", 0) > 0:
            torch.set_num_threads(self.threads)
        self.tokenizer = load_tokenizer(context.artifacts[TOKENIZER_ARTIFACT])
        config = json.loads(Path(context.artifacts[CONFIG_ARTIFACT]).read_text())
        self.network = RecurrentClassifier(NetworkConfig(**config))
        self.network.load_state_dict(load_file(context.artifacts[WEIGHTS_ARTIFACT]))
        self.network.eval()

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        if self.network is None or self.tokenizer is None:
            raise RuntimeError("model used before load_context")
        texts = clean_texts(texts_of(model_input), mask_handles=self.mask_handles)
        return predictions_frame(sequence_probabilities(self.network, self.tokenizer, texts))


def _write_artifacts(
    network: RecurrentClassifier, tokenizer: Tokenizer, directory: Path
) -> dict[str, str]:
    config = directory / "network_config.json"
    config.write_text(json.dumps(network.config.to_dict(), indent=2))
    weights = directory / "weights.safetensors"
    save_file({k: v.contiguous() for k, v in network.state_dict().items()}, str(weights))
    tokenizer_path = save_tokenizer(tokenizer, directory / "tokenizer.json")
    return {
        TOKENIZER_ARTIFACT: str(tokenizer_path),
        CONFIG_ARTIFACT: str(config),
        WEIGHTS_ARTIFACT: str(weights),
    }


def log_sequence_pyfunc(
    network: RecurrentClassifier,
    tokenizer: Tokenizer,
    mask_handles: bool,
    name: str = "model",
    threads: int = 0,
) -> mlflow.models.model.ModelInfo:
    with tempfile.TemporaryDirectory() as tmp:
        return log_pyfunc(
            SequenceTweetModel(mask_handles=mask_handles, threads=threads),
            _write_artifacts(network, tokenizer, Path(tmp)),
            SIGNATURE,
            requirements(*REQUIREMENTS),
            name=name,
            input_example=INPUT_EXAMPLE,
        )


def save_sequence_pyfunc(
    network: RecurrentClassifier,
    tokenizer: Tokenizer,
    mask_handles: bool,
    path: Path,
    threads: int = 0,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        save_pyfunc(
            SequenceTweetModel(mask_handles=mask_handles, threads=threads),
            _write_artifacts(network, tokenizer, Path(tmp)),
            SIGNATURE,
            requirements(*REQUIREMENTS),
            path,
            input_example=INPUT_EXAMPLE,
        )
