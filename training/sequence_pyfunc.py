"""The Simple RNN / LSTM / GRU as a served pyfunc: raw text → clean_text → tokenizer → network.

Artifacts are the tokenizer JSON, the network as an ONNX graph (`training.sequence_onnx`), and its
config JSON and weights as safetensors (no pickled torch objects). The pyfunc runs the graph with
ONNX Runtime, so it loads and predicts where PyTorch is not installed (the model server); the
code for cleaning and tokenizing travels with it (`training.pyfunc.packaged_code`).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import numpy as np
import pandas as pd
from tokenizers import Tokenizer

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

if TYPE_CHECKING:
    from training.networks import RecurrentClassifier

TOKENIZER_ARTIFACT = "tokenizer"
NETWORK_ARTIFACT = "network"
CONFIG_ARTIFACT = "network_config"
WEIGHTS_ARTIFACT = "weights"
# texts scored per forward pass: bounds memory on large calls without slowing small ones
INFERENCE_BATCH = 1024
REQUIREMENTS = ("mlflow", "onnxruntime", "tokenizers", "pandas", "numpy")


def graph_probabilities(session: Any, tokenizer: Tokenizer, cleaned: list[str]) -> np.ndarray:
    """Inbound probability of each already-cleaned text from the network's ONNX graph (an ONNX
    Runtime session), in chunks of `INFERENCE_BATCH`."""
    out: list[np.ndarray] = []
    for start in range(0, len(cleaned), INFERENCE_BATCH):
        ids, lengths = encode(tokenizer, cleaned[start : start + INFERENCE_BATCH])
        out.append(session.run(None, {"ids": ids, "lengths": lengths})[0])
    return np.concatenate(out) if out else np.empty(0)


class SequenceTweetModel(mlflow.pyfunc.PythonModel):
    """A trained recurrent classifier behind the shared cleaning and output contract."""

    def __init__(self, mask_handles: bool, threads: int = 0) -> None:
        self.mask_handles = mask_handles
        # ONNX Runtime's threads for inference (0: its default). Small recurrent ops gain
        # little from a second thread and, on a busy 2-core box, spinning threads cost more.
        self.threads = threads
        self.session: Any = None
        self.tokenizer: Tokenizer | None = None

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # its graph-optimisation notices are not the user's
        if self.threads > 0:
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = self.threads
        self.tokenizer = load_tokenizer(context.artifacts[TOKENIZER_ARTIFACT])
        self.session = onnxruntime.InferenceSession(
            context.artifacts[NETWORK_ARTIFACT], options, providers=["CPUExecutionProvider"]
        )

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        if self.session is None or self.tokenizer is None:
            raise RuntimeError("model used before load_context")
        texts = clean_texts(texts_of(model_input), mask_handles=self.mask_handles)
        return predictions_frame(graph_probabilities(self.session, self.tokenizer, texts))


def _write_artifacts(
    network: RecurrentClassifier, tokenizer: Tokenizer, directory: Path
) -> dict[str, str]:
    """The graph the pyfunc runs, and the network's config and weights (training needs torch)."""
    from safetensors.torch import save_file

    from training.sequence_onnx import export_onnx

    graph = export_onnx(network, directory / "network.onnx")
    config = directory / "network_config.json"
    config.write_text(json.dumps(network.config.to_dict(), indent=2))
    weights = directory / "weights.safetensors"
    save_file({k: v.contiguous() for k, v in network.state_dict().items()}, str(weights))
    tokenizer_path = save_tokenizer(tokenizer, directory / "tokenizer.json")
    return {
        TOKENIZER_ARTIFACT: str(tokenizer_path),
        NETWORK_ARTIFACT: str(graph),
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
