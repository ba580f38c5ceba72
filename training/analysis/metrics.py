"""Scores for the analysis models: per-class precision/recall/F1, confusion, entity span F1."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

Span = tuple[int, int, str]


def class_report(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """Macro F1, accuracy and precision/recall/F1/support per class (classes in ``labels``)."""
    present = [label for label in labels if label in set(y_true) | set(y_pred)]
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=present, zero_division=0)
    per_class = {
        label: {
            "precision": float(p[i]),
            "recall": float(r[i]),
            "f1": float(f[i]),
            "support": int(s[i]),
        }
        for i, label in enumerate(present)
    }
    supported = [label for label in present if per_class[label]["support"] > 0]
    macro = float(np.mean([per_class[label]["f1"] for label in supported])) if supported else 0.0
    accuracy = float(np.mean(np.asarray(y_true) == np.asarray(y_pred))) if len(y_true) else 0.0
    return {"macro_f1": macro, "accuracy": accuracy, "rows": len(y_true), "per_class": per_class}


def confusion_frame(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]
) -> pd.DataFrame:
    """Rows: true class, columns: predicted class."""
    matrix = confusion_matrix(y_true, y_pred, labels=list(labels))
    return pd.DataFrame(matrix, index=list(labels), columns=list(labels))


def span_report(gold: Iterable[set[Span]], predicted: Iterable[set[Span]]) -> dict[str, Any]:
    """Exact-match entity precision/recall/F1 (start, end and label must all agree), overall and
    per label."""
    counts: dict[str, list[int]] = {}  # label -> [true positives, predicted, gold]
    for g, p in zip(gold, predicted, strict=True):
        for span in p:
            counts.setdefault(span[2], [0, 0, 0])[1] += 1
            if span in g:
                counts[span[2]][0] += 1
        for span in g:
            counts.setdefault(span[2], [0, 0, 0])[2] += 1

    def prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": precision, "recall": recall, "f1": f1, "support": n_gold}

    totals = [sum(c[i] for c in counts.values()) for i in range(3)]
    return {
        **prf(*totals),
        "per_label": {label: prf(*c) for label, c in sorted(counts.items())},
    }
