"""A static embedding distilled from the packaged MiniLM with model2vec, offline.

A static model looks each token up in a table and averages: about 30 times faster than running
MiniLM, and on generated tweets as good; on real tweets it is sure of far fewer. So the category
model asks it first and sends only the tweets it is unsure of to MiniLM (`category.py`).

Unlike MiniLM (read from its installed package), the distilled table is the model's own: it is
saved inside each model version, like the heads.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def distill_static(folder: Path | str, pca_dims: int) -> StaticEncoder:
    """model2vec's distillation of the encoder in ``folder`` (~25 s on 2 cores, no hub).

    Returned as saved and loaded back: model2vec 0.8's freshly distilled model embeds
    differently from its saved copy, and the heads must learn from what the server will load.
    """
    from model2vec.distill import distill

    with tempfile.TemporaryDirectory(prefix="tweetcare-static-") as tmp:
        distill(model_name=str(folder), pca_dims=pca_dims).save_pretrained(tmp)
        return StaticEncoder.load(tmp)


class StaticEncoder:
    """Distilled static embedding: texts in, (n, dims) unit vectors out."""

    def __init__(self, model: object) -> None:
        self.model = model

    @classmethod
    def load(cls, folder: Path | str) -> StaticEncoder:
        from model2vec import StaticModel

        return cls(StaticModel.from_pretrained(str(folder)))

    def save(self, folder: Path) -> str:
        self.model.save_pretrained(str(folder))  # type: ignore[attr-defined]
        return str(folder)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        # no worker processes: inside the model server one process per model is the contract
        vectors = self.model.encode(list(texts), use_multiprocessing=False)  # type: ignore[attr-defined]
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-9)
