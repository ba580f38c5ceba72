"""The one stratified sampler: the MiniLM head's train sample and the analysis models' samples.

Both draw the same way (one seeded generator, classes in sorted order, each class's share
rounded, at least one row per class), so a seed picks the same rows wherever it is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def stratified_rows(labels: Sequence[Any] | np.ndarray, size: int, seed: int) -> np.ndarray:
    """Sorted row positions of a sample of about ``size`` rows, stratified by ``labels``.

    Each class keeps its share of ``size`` (rounded; rare classes keep at least one row); all
    rows when ``size`` covers them. ``labels`` holds no missing values.
    """
    values = np.asarray(labels)
    count = len(values)
    if size >= count:
        return np.arange(count)
    rng = np.random.default_rng(seed)
    picked = []
    for value in np.unique(values):
        rows = np.flatnonzero(values == value)
        share = max(1, round(size * len(rows) / count))
        picked.append(rng.choice(rows, size=min(share, len(rows)), replace=False))
    return np.sort(np.concatenate(picked))
