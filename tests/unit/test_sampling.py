"""The one stratified sampler picks the rows both of its old copies picked, so no model moves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.analysis.data import sample
from training.sampling import stratified_rows


def minilm_rows_before(count: int, size: int, labels: np.ndarray, seed: int) -> np.ndarray:
    """`training.minilm.sample_rows` as it was."""
    if size >= count:
        return np.arange(count)
    rng = np.random.default_rng(seed)
    picked = []
    for value in np.unique(labels):
        rows = np.flatnonzero(labels == value)
        share = max(1, round(size * len(rows) / count))
        picked.append(rng.choice(rows, size=min(share, len(rows)), replace=False))
    return np.sort(np.concatenate(picked))


def analysis_sample_before(frame: pd.DataFrame, size: int, seed: int, by: str) -> pd.DataFrame:
    """`training.analysis.data.sample` as it was (stratified branch)."""
    if len(frame) <= size:
        return frame.reset_index(drop=True)
    rng = np.random.default_rng(seed)
    picked: list[np.ndarray] = []
    for rows in frame.groupby(by, sort=True).indices.values():
        share = max(1, round(size * len(rows) / len(frame)))
        picked.append(rng.choice(rows, size=min(share, len(rows)), replace=False))
    return frame.iloc[np.sort(np.concatenate(picked))].reset_index(drop=True)


def test_sample_is_stratified_and_capped() -> None:
    labels = np.array([1] * 80 + [0] * 20)
    rows = stratified_rows(labels, 10, seed=0)
    assert len(rows) == 10 and labels[rows].sum() == 8
    assert stratified_rows(labels[:5], 10, seed=0).tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("seed", [0, 7, 42])
@pytest.mark.parametrize("size", [1, 10, 37, 199, 500])
def test_minilm_train_sample_is_unchanged(seed: int, size: int) -> None:
    labels = np.random.default_rng(seed + 100).choice([0, 1], size=200, p=[0.3, 0.7])
    np.testing.assert_array_equal(
        stratified_rows(labels, size, seed), minilm_rows_before(len(labels), size, labels, seed)
    )


@pytest.mark.parametrize("seed", [0, 7, 42])
@pytest.mark.parametrize("size", [1, 10, 37, 199, 500])
def test_analysis_sample_is_unchanged(seed: int, size: int) -> None:
    # flags as the analysis training reads them: mostly none, a rare class of one row
    rng = np.random.default_rng(seed + 200)
    flags = rng.choice(["", "spam", "chatter", "not_english"], size=199, p=[0.7, 0.2, 0.05, 0.05])
    frame = pd.DataFrame(
        {"flag": [*flags, "zzz_rare"], "text": [f"tweet {i}" for i in range(200)]},
        index=rng.permutation(200) + 1000,  # a shuffled index: picks are positions, not labels
    )
    pd.testing.assert_frame_equal(
        sample(frame, size, seed, "flag"), analysis_sample_before(frame, size, seed, "flag")
    )
    if size < len(frame):
        assert "zzz_rare" in set(sample(frame, size, seed, "flag")["flag"])


def test_the_frame_and_array_samplers_agree() -> None:
    frame = pd.DataFrame({"label": [2, 0, 1, 1, 0, 2, 2, 2, 0, 1] * 5})
    rows = stratified_rows(frame["label"].to_numpy(), 12, seed=3)
    pd.testing.assert_frame_equal(
        sample(frame, 12, 3, "label"), frame.iloc[rows].reset_index(drop=True)
    )


def test_an_unstratified_sample_is_pandas_own() -> None:
    frame = pd.DataFrame({"text": [f"tweet {i}" for i in range(50)]})
    pd.testing.assert_frame_equal(
        sample(frame, 10, 5), frame.sample(n=10, random_state=5).reset_index(drop=True)
    )
