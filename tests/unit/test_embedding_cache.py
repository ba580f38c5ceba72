"""The process's embedding cache: a second model on the same batch runs no encoder pass."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from training import embedding_cache
from training.embedding_cache import cached_embed


class CountingEncoder:
    """Embeds a text as (its length, its first letter's code) and records every text it read."""

    def __init__(self) -> None:
        self.read: list[str] = []

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.read.extend(texts)
        return np.array([[len(t), ord(t[0])] for t in texts], dtype=np.float32).reshape(-1, 2)


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    embedding_cache.clear()
    yield
    embedding_cache.clear()


def graph(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_the_second_model_reads_the_first_ones_embeddings(tmp_path: Path) -> None:
    # two models, each with its own copy of the same graph, on one batch
    sentiment_graph = graph(tmp_path, "a.onnx", b"same graph")
    category_graph = graph(tmp_path, "b.onnx", b"same graph")
    encoder = CountingEncoder()
    batch = ["@Brand late again", "@Brand thanks!", "@Brand late again"]
    first = cached_embed(sentiment_graph, 64, encoder, batch)
    # the category cascade hands only some tweets on to MiniLM, in its own order
    second = cached_embed(category_graph, 64, encoder, ["@Brand thanks!", "@Brand late again"])
    assert encoder.read == ["@Brand late again", "@Brand thanks!"]  # each text once, once only
    np.testing.assert_array_equal(first, encoder(batch))
    np.testing.assert_array_equal(second, first[[1, 0]])


def test_another_graph_or_token_limit_never_shares(tmp_path: Path) -> None:
    encoder = CountingEncoder()
    cached_embed(graph(tmp_path, "a.onnx", b"one graph"), 64, encoder, ["@Brand hi"])
    cached_embed(graph(tmp_path, "b.onnx", b"another graph"), 64, encoder, ["@Brand hi"])
    cached_embed(graph(tmp_path, "a.onnx", b"one graph"), 32, encoder, ["@Brand hi"])
    assert encoder.read == ["@Brand hi"] * 3


def test_a_batch_larger_than_the_cache_is_still_answered_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedding_cache, "CAPACITY", 2)
    encoder = CountingEncoder()
    texts = ["a", "bb", "ccc", "dddd"]
    out = cached_embed(graph(tmp_path, "a.onnx", b"g"), 64, encoder, texts)
    np.testing.assert_array_equal(out[:, 0], [1, 2, 3, 4])
    assert cached_embed(graph(tmp_path, "a.onnx", b"g"), 64, encoder, []).shape == (0, 2)
