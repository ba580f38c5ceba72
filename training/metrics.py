"""Every model's scores in one place: the inbound classifier's binary metrics and figures, the
analysis models' per-class reports, confusion frames and entity span F1."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # headless: figures are only ever written to files

import numpy as np
import pandas as pd
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    RocCurveDisplay,
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
    roc_auc_score,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CLASS_NAMES = ("outbound", "inbound")
Span = tuple[int, int, str]


def classification_metrics(
    y_true: Sequence[int] | np.ndarray,
    y_score: Sequence[float] | np.ndarray,
    threshold: float = 0.5,
) -> dict[str, float]:
    """Accuracy, precision, recall, F1 (inbound = positive) and ROC-AUC from inbound scores."""
    truth = np.asarray(y_true).astype(int)
    score = np.asarray(y_score, dtype=float)
    pred = (score >= threshold).astype(int)
    metrics = {
        "accuracy": accuracy_score(truth, pred),
        "precision": precision_score(truth, pred, zero_division=0),
        "recall": recall_score(truth, pred, zero_division=0),
        "f1": f1_score(truth, pred, zero_division=0),
    }
    # AUC is undefined on a single class; NaN keeps the key set stable for MLflow and DVC
    metrics["roc_auc"] = roc_auc_score(truth, score) if len(set(truth)) == 2 else float("nan")
    return {name: float(value) for name, value in metrics.items()}


def confusion_figure(
    y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray
) -> Figure:
    # pyplot on first use: the reports below serve processes that never draw
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 4))
    ConfusionMatrixDisplay.from_predictions(
        np.asarray(y_true).astype(int),
        np.asarray(y_pred).astype(int),
        labels=[0, 1],
        display_labels=list(CLASS_NAMES),
        ax=ax,
        colorbar=False,
    )
    fig.tight_layout()
    return fig


def roc_figure(y_true: Sequence[int] | np.ndarray, y_score: Sequence[float] | np.ndarray) -> Figure:
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 4))
    RocCurveDisplay.from_predictions(np.asarray(y_true).astype(int), np.asarray(y_score), ax=ax)
    fig.tight_layout()
    return fig


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
