"""One MiniLM pass per tweet, whichever models of the process read it.

The sentiment blend and the category model are separate pyfuncs, each with its own copy of the
encoder folder, yet the model server calls them one after the other on the same batch. Keyed by
the graph's bytes and the token limit, the second model finds the first one's embeddings here
instead of running the encoder again: on the demo mix that is the difference between one and two
encoder passes for every tweet the category cascade hands on to MiniLM.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

import numpy as np

from training.encoder import ONNX_FILE, SentenceEncoder

# the model server's largest /analyze piece is 256 texts: this holds several of them, so the
# models that follow each other on one piece always find it, at ~1.5 KB a text
CAPACITY = 4096
_CACHES: dict[tuple[str, int], OrderedDict[str, np.ndarray]] = {}


@cache
def graph_digest(graph: Path) -> str:
    """sha256 of an encoder graph's bytes: two exports of the same MiniLM share a cache."""
    digest = hashlib.sha256()
    with graph.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cached_embed(
    graph: Path,
    max_length: int,
    embed: Callable[[Sequence[str]], np.ndarray],
    texts: Sequence[str],
) -> np.ndarray:
    """``embed(texts)``, computing only the texts this graph has not embedded lately."""
    if not texts:
        return embed(texts)
    store = _CACHES.setdefault((graph_digest(graph), max_length), OrderedDict())
    missing = list(dict.fromkeys(t for t in texts if t not in store))
    if missing:
        for text, vector in zip(missing, embed(missing), strict=True):
            store[text] = vector
            if len(store) > CAPACITY:
                store.popitem(last=False)
    found = [store.get(t) for t in texts]
    if any(v is None for v in found):  # a batch larger than the cache pushed its own texts out
        return embed(texts)
    for text in texts:
        store.move_to_end(text)
    return np.stack(found)


def embedder(encoder: SentenceEncoder) -> Callable[[Sequence[str]], np.ndarray]:
    """``encoder.embed`` through the process's cache."""
    graph = encoder.folder / ONNX_FILE
    return lambda texts: cached_embed(graph, encoder.max_length, encoder.embed, texts)


def clear() -> None:
    """Forget every cached embedding (tests; a process that swaps its encoder)."""
    _CACHES.clear()
