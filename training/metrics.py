"""Binary classification metrics and the figures MLflow keeps beside them."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # headless: figures are only ever written to files

import numpy as np
from matplotlib import pyplot as plt
from matplotlib.figure import Figure
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    RocCurveDisplay,
    accuracy_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

CLASS_NAMES = ("outbound", "inbound")


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
    fig, ax = plt.subplots(figsize=(4, 4))
    RocCurveDisplay.from_predictions(np.asarray(y_true).astype(int), np.asarray(y_score), ax=ax)
    fig.tight_layout()
    return fig
