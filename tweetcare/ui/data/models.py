"""Models: the latest comparison as a table and why a version holds the champion alias."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

# the metrics the comparison shows, by the names the train stage logs them under
COMPARISON_METRICS: dict[str, str] = {
    "accuracy": "test_accuracy",
    "f1": "test_f1",
    "val_f1": "val_f1",
    # the same family trained with @handles left in: how much the handle shortcut is worth
    "f1_raw_handles": "test_f1_raw",
    "latency_ms_b1": "latency_ms_per_tweet_b1",
    "latency_ms_b256": "latency_ms_per_tweet_b256",
}


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    name: str
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VersionRecord:
    version: str
    run_id: str
    aliases: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)


def comparison_frame(runs: Sequence[RunRecord]) -> pd.DataFrame:
    """One row per model of the latest training run, best test F1 first."""
    rows = []
    for run in runs:
        row: dict[str, Any] = {"model": run.name, "family": run.params.get("model_family")}
        row["run_id"] = run.run_id
        for column, metric in COMPARISON_METRICS.items():
            row[column] = run.metrics.get(metric)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["model", "family", "run_id", *COMPARISON_METRICS])
    return frame.sort_values("f1", ascending=False, na_position="last").reset_index(drop=True)


def champion_explanation(
    versions: Sequence[VersionRecord], alias: str, decision_tag: str, reason_tag: str
) -> str | None:
    """Which version holds `alias` and the promotion gate's recorded reason; None if none does."""
    for version in versions:
        if alias in version.aliases:
            reason = version.tags.get(reason_tag)
            decision = version.tags.get(decision_tag)
            why = f": {reason}" if reason else " (no gate decision recorded)"
            gate = f" — gate said `{decision}`" if decision and decision != alias else ""
            return f"version {version.version} (run {version.run_id}) is @{alias}{why}{gate}"
    return None
