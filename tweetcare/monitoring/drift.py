"""The drift and data-quality check as a pure function: two windows in, a typed verdict out.

Evidently computes every figure (each monitored column's drift score with the method and
threshold from params.yaml, the missing share of each required field) and renders the HTML
report; the dead-letter rate is a plain ratio. A breach is Evidently's own drift verdict, or a
quality figure above its limit.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tweetcare.monitoring.config import MonitorParams
from tweetcare.monitoring.evidently_compat import (
    DataDefinition,
    Dataset,
    MissingValueCount,
    Report,
    ValueDrift,
)
from tweetcare.monitoring.features import CATEGORICAL_COLUMNS, NUMERIC_COLUMNS, TEXT_COLUMNS

# the domain classifier behind text drift needs a few rows of each side to say anything
MIN_TEXT_ROWS = 20


@dataclass(frozen=True)
class MetricResult:
    """One figure: what it measures, its value, the limit and whether the limit is broken."""

    kind: str  # "drift" or "quality"
    name: str  # the column, or "dead_letter_rate"
    method: str
    value: float
    threshold: float
    breached: bool

    @property
    def key(self) -> str:
        return f"{self.kind}.{self.name}"


@dataclass(frozen=True)
class Comparison:
    """The current window judged against one reference (training data or the last window)."""

    reference: str
    reference_rows: int
    current_rows: int
    metrics: list[MetricResult] = field(default_factory=list)
    html: Path | None = None

    @property
    def breaches(self) -> list[MetricResult]:
        return [m for m in self.metrics if m.breached]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["html"] = str(self.html) if self.html else None
        out["breaches"] = [m.key for m in self.breaches]
        return out


def compare(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    params: MonitorParams,
    reference_name: str,
    dead_letters: int = 0,
    html: Path | None = None,
) -> Comparison:
    """Drift of every monitored column both frames have (`features.monitored_frame` rows) and
    the current window's data quality; writes Evidently's HTML report to `html` when given."""
    columns = _comparable(reference, current, params)
    required = [c for c in params.quality.required if c in current]
    metrics: list[Any] = [
        ValueDrift(column=c, method=params.drift[c].method, threshold=params.drift[c].threshold)
        for c in columns
    ]
    metrics += [MissingValueCount(column=c) for c in required]
    results: list[MetricResult] = []
    if metrics:
        with warnings.catch_warnings():
            # Evidently's own pandas deprecations and its text classifier's early stop (the
            # score still counts) are not the monitor's to fix
            warnings.simplefilter("ignore")
            snapshot = Report(metrics, include_tests=True).run(
                _dataset(current, columns, required), _dataset(reference, columns, required)
            )
        results = _read(snapshot.dict(), params)
        if html is not None:
            html.parent.mkdir(parents=True, exist_ok=True)
            snapshot.save_html(str(html))
    results += _absent_fields(current, params)
    results.append(dead_letter_metric(len(current), dead_letters, params))
    return Comparison(reference_name, len(reference), len(current), results, html)


def dead_letter_metric(tweets: int, dead_letters: int, params: MonitorParams) -> MetricResult:
    """Dead letters as a share of everything the stream read in the window."""
    total = tweets + dead_letters
    rate = dead_letters / total if total else 0.0
    limit = params.quality.max_dead_letter_rate
    return MetricResult("quality", "dead_letter_rate", "share", rate, limit, rate > limit)


def _comparable(reference: pd.DataFrame, current: pd.DataFrame, params: MonitorParams) -> list[str]:
    """Monitored columns with a rule and values on both sides (an all-null column, e.g. the
    confidences of a reference without predictions, cannot drift)."""
    out = []
    for column in (*NUMERIC_COLUMNS, *CATEGORICAL_COLUMNS, *TEXT_COLUMNS):
        if column not in params.drift or column not in reference or column not in current:
            continue
        need = MIN_TEXT_ROWS if column in TEXT_COLUMNS else 1
        if reference[column].notna().sum() >= need and current[column].notna().sum() >= need:
            out.append(column)
    return out


def _dataset(frame: pd.DataFrame, columns: list[str], required: list[str]) -> Dataset:
    wanted = list(dict.fromkeys([*columns, *required]))
    data = frame.reindex(columns=wanted)
    definition = DataDefinition(
        numerical_columns=[c for c in wanted if c in NUMERIC_COLUMNS],
        categorical_columns=[c for c in wanted if c not in NUMERIC_COLUMNS + TEXT_COLUMNS],
        text_columns=[c for c in wanted if c in TEXT_COLUMNS],
    )
    return Dataset.from_pandas(data, data_definition=definition)


def _read(snapshot: dict[str, Any], params: MonitorParams) -> list[MetricResult]:
    """MetricResults from Evidently's snapshot: drift verdicts from its tests, by metric id."""
    failed = {
        t["metric_config"]["metric_id"]
        for t in snapshot.get("tests", [])
        if t.get("status") == "FAIL"
    }
    out = []
    for metric in snapshot["metrics"]:
        config, value = metric["config"], metric["value"]
        column = config.get("column")
        if config["type"].endswith(":ValueDrift"):
            rule = params.drift[column]
            score = float(value)
            out.append(
                MetricResult(
                    "drift", column, rule.method, score, rule.threshold, metric["id"] in failed
                )
            )
        elif config["type"].endswith(":MissingValueCount"):
            share = float(value["share"])
            limit = params.quality.max_missing_share
            out.append(
                MetricResult("quality", f"missing.{column}", "share", share, limit, share > limit)
            )
    return out


def _absent_fields(current: pd.DataFrame, params: MonitorParams) -> list[MetricResult]:
    """A required field the current window lacks altogether is missing on every row."""
    limit = params.quality.max_missing_share
    return [
        MetricResult("quality", f"missing.{c}", "share", 1.0, limit, True)
        for c in params.quality.required
        if c not in current
    ]
