"""Inference speed of a loaded pyfunc, measured the way the server calls it (raw text in)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from training.pyfunc import TEXT_COLUMN

# enough repeats to smooth scheduler noise on a shared machine, few enough to stay quick
DEFAULT_REPEATS = 5


@dataclass(frozen=True)
class Speed:
    batch_size: int
    ms_per_tweet: float
    tweets_per_second: float


def measure_speed(
    model: Any, texts: Sequence[str], batch_size: int, repeats: int = DEFAULT_REPEATS
) -> Speed:
    """Median time of `repeats` predictions on one batch of `batch_size` texts (after a warm-up)."""
    if not texts:
        raise ValueError("need at least one text to time the model")
    batch = [texts[i % len(texts)] for i in range(batch_size)]
    frame = pd.DataFrame({TEXT_COLUMN: batch})
    model.predict(frame)  # warm-up: lazy imports and caches are not inference time
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict(frame)
        timings.append(time.perf_counter() - start)
    median = sorted(timings)[len(timings) // 2]
    return Speed(batch_size, 1000.0 * median / batch_size, batch_size / median)
