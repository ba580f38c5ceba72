"""The one stratified sampler: each class keeps its share, a rare class keeps a row, a seed
gives the same rows, and the frame API picks what the array API picks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.analysis.data import sample
from training.sampling import stratified_rows


def test_sample_is_stratified_and_capped() -> None:
    labels = np.array([1] * 80 + [0] * 20)
    rows = stratified_rows(labels, 10, seed=0)
    assert len(rows) == 10 and labels[rows].sum() == 8
    assert stratified_rows(labels[:5], 10, seed=0).tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("seed", [0, 7, 42])
@pytest.mark.parametrize("size", [1, 10, 37, 199])
def test_each_class_keeps_its_share_and_a_rare_one_a_row(seed: int, size: int) -> None:
    rng = np.random.default_rng(seed + 200)
    flags = rng.choice(["", "spam", "chatter"], size=199, p=[0.7, 0.2, 0.1])
    labels = np.array([*flags, "zzz_rare"])
    rows = stratified_rows(labels, size, seed)
    assert len(set(rows.tolist())) == len(rows) and (np.diff(rows) > 0).all()  # sorted, unique
    for value in np.unique(labels):
        have = int((labels == value).sum())
        expected = min(have, max(1, round(size * have / len(labels))))
        assert int((labels[rows] == value).sum()) == expected
    np.testing.assert_array_equal(rows, stratified_rows(labels, size, seed))


def test_the_frame_and_array_samplers_agree() -> None:
    frame = pd.DataFrame(
        {"label": [2, 0, 1, 1, 0, 2, 2, 2, 0, 1] * 5},
        index=np.random.default_rng(1).permutation(50) + 1000,  # picks are positions, not labels
    )
    rows = stratified_rows(frame["label"].to_numpy(), 12, seed=3)
    pd.testing.assert_frame_equal(
        sample(frame, 12, 3, "label"), frame.iloc[rows].reset_index(drop=True)
    )


def test_an_unstratified_sample_is_pandas_own() -> None:
    frame = pd.DataFrame({"text": [f"tweet {i}" for i in range(50)]})
    pd.testing.assert_frame_equal(
        sample(frame, 10, 5), frame.sample(n=10, random_state=5).reset_index(drop=True)
    )
