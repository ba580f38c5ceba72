"""Choosing among the compared models, and the table and chart the parent run keeps.

The winner is the best validation F1; F1s within `tie_tolerance` of the best count as a tie,
which the faster model (ms per tweet at batch 256) wins. Test figures never pick the winner:
the test split is reserved for the promotion gate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

from tweetcare.core.errors import UserError

SELECTION_METRIC = "val_f1"
LATENCY_METRIC = "latency_ms_per_tweet_b256"
# (metric key, column title) of the comparison table, in order
TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("val_accuracy", "val accuracy"),
    ("val_f1", "val F1"),
    ("test_accuracy", "test accuracy"),
    ("test_precision", "test precision"),
    ("test_recall", "test recall"),
    ("test_f1", "test F1"),
    ("test_roc_auc", "test ROC-AUC"),
    ("test_f1_raw", "test F1 raw handles"),
    ("train_seconds", "train s"),
    ("latency_ms_per_tweet_b1", "ms/tweet b1"),
    ("latency_ms_per_tweet_b256", "ms/tweet b256"),
    ("tweets_per_second_b256", "tweets/s b256"),
    ("model_size_mb", "size MB"),
)


@dataclass(frozen=True)
class ModelReport:
    """One compared model: its child run, logged pyfunc and metrics."""

    name: str
    run_id: str
    model_uri: str
    metrics: dict[str, float]


def pick_winner(reports: Sequence[ModelReport], tie_tolerance: float = 0.0) -> ModelReport:
    if not reports:
        raise UserError("no models were compared: train.models is empty")
    best = max(r.metrics[SELECTION_METRIC] for r in reports)
    tied = [r for r in reports if r.metrics[SELECTION_METRIC] >= best - tie_tolerance]
    return min(tied, key=lambda r: (r.metrics[LATENCY_METRIC], -r.metrics[SELECTION_METRIC]))


def comparison_table(reports: Sequence[ModelReport], winner: str | None = None) -> pd.DataFrame:
    """One row per model, the columns of `TABLE_COLUMNS` (NaN where a figure was not measured)."""
    rows = {
        r.name: {title: r.metrics.get(key, float("nan")) for key, title in TABLE_COLUMNS}
        for r in reports
    }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    if winner is not None:
        table["winner"] = [name == winner for name in table.index]
    return table


def table_markdown(table: pd.DataFrame) -> str:
    """A plain markdown table (no extra dependency), numbers rounded for reading."""
    columns = [table.index.name or "", *table.columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for name, row in table.iterrows():
        cells = [_cell(value) for value in row.tolist()]
        lines.append("| " + " | ".join([str(name), *cells]) + " |")
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return "yes" if value else ""
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return "—"
        return f"{value:.4f}" if abs(value) < 10 else f"{value:,.0f}"
    return str(value)


def comparison_chart(table: pd.DataFrame) -> Figure:
    """F1 per model (validation, test, test with raw handles) beside serving throughput."""
    fig, (quality, speed) = plt.subplots(1, 2, figsize=(11, 4))
    f1_columns = [c for c in ("val F1", "test F1", "test F1 raw handles") if c in table]
    table[f1_columns].plot.bar(ax=quality, rot=0)
    quality.set_ylim(max(0.0, float(np.nanmin(table[f1_columns].to_numpy())) - 0.05), 1.0)
    quality.set_title("F1 (inbound = positive)")
    quality.legend(loc="lower right", fontsize="small")
    table["tweets/s b256"].plot.bar(ax=speed, rot=0, logy=True, color="tab:green")
    speed.set_title("serving throughput at batch 256 (tweets/s, log scale)")
    fig.tight_layout()
    return fig
