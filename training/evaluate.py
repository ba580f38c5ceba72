"""Scoring a model on a split: sklearn pipelines on cleaned text, pyfuncs on raw text."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from training.baseline import LABEL_COLUMN
from training.metrics import classification_metrics
from training.pyfunc import TEXT_COLUMN


def inbound_scores(classifier: Any, texts: list[str]) -> np.ndarray:
    positive = list(classifier.classes_).index(1)
    return classifier.predict_proba(texts)[:, positive]


def evaluate_classifier(classifier: Any, split: pd.DataFrame, text_column: str) -> dict[str, float]:
    texts = split[text_column].fillna("").astype(str).tolist()
    return classification_metrics(
        split[LABEL_COLUMN].astype(int), inbound_scores(classifier, texts)
    )


def evaluate_pyfunc(model: Any, split: pd.DataFrame) -> dict[str, float]:
    """Metrics of any tweet-inbound pyfunc on a split's raw `text`: how the gate compares models."""
    predictions = model.predict(pd.DataFrame({TEXT_COLUMN: split[TEXT_COLUMN].astype(str)}))
    return classification_metrics(
        split[LABEL_COLUMN].astype(int), predictions["inbound_probability"].to_numpy()
    )
