"""DVC stage ``validate``: check the raw twcs file with Great Expectations before anything trains.

A failed expectation stops ``dvc repro`` with a message that names the rule and shows a few of
the offending values; the JSON summary and the Data Docs site say the same at length.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import great_expectations as gx
import numpy as np
import pandas as pd
from great_expectations.checkpoint import UpdateDataDocsAction
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from rich.console import Console

from pipelines.expectations import raw_suite, raw_validation_frame
from tweetcare.core.errors import UserError
from tweetcare.core.params import ValidateParams, load_params
from tweetcare.core.schemas import TWCS_COLUMNS

REPORT_DIR = Path("reports/validation")
SUMMARY_FILE = "raw.json"
DATA_DOCS_DIR = "data_docs"
DATA_DOCS_SITE = "tweetcare"
# failing values quoted per expectation in the error message
SHOWN_VALUES = 3


@dataclass
class ExpectationOutcome:
    expectation: str
    column: str | None
    success: bool
    observed: Any = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    unexpected_values: list[Any] = field(default_factory=list)
    # frame row positions (0-based) of a few failing rows
    unexpected_rows: list[int] = field(default_factory=list)
    error: str | None = None

    def describe(self) -> str:
        """One line for the error message: the rule, where, and what broke it."""
        where = f" on column {self.column!r}" if self.column else ""
        if self.error:
            return f"{self.expectation}{where}: could not run ({self.error})"
        details = []
        if self.unexpected_count:
            details.append(f"{self.unexpected_count} rows ({self.unexpected_percent:.2f}%)")
        if self.unexpected_values:
            shown = ", ".join(repr(v) for v in self.unexpected_values[:SHOWN_VALUES])
            details.append(f"e.g. {shown}")
        elif self.unexpected_rows:
            shown = ", ".join(str(i) for i in self.unexpected_rows[:SHOWN_VALUES])
            details.append(f"rows {shown}")
        if self.observed is not None and not self.unexpected_values:
            details.append(f"observed {self.observed!r}")
        return f"{self.expectation}{where}: " + "; ".join(details or ["failed"])


@dataclass
class ValidationSummary:
    suite: str
    success: bool
    rows: int
    evaluated: int
    failed: int
    data_docs_index: str | None
    results: list[ExpectationOutcome]

    def failures(self) -> list[ExpectationOutcome]:
        return [r for r in self.results if not r.success]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _json_safe(value: Any) -> Any:
    """GE results hold numpy scalars and NaN; keep the summary plain JSON (NaN becomes null)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError):
        return str(value)


def _exception_message(info: dict[str, Any] | None) -> str | None:
    """GE 1.x nests metric errors one level down, keyed by metric; plain ones sit at the top."""
    if not info:
        return None
    candidates = [info, *(v for v in info.values() if isinstance(v, dict))]
    for candidate in candidates:
        if candidate.get("raised_exception"):
            message = str(candidate.get("exception_message") or "error")
            return message.removeprefix("Error: ").splitlines()[0]
    return None


def _distinct(values: list[Any]) -> list[Any]:
    """Failing values without repeats or nulls (a null says nothing the rule name does not)."""
    kept: list[Any] = []
    for value in (_json_safe(v) for v in values):
        if value is not None and value not in kept:
            kept.append(value)
    return kept


def _outcome(result: Any) -> ExpectationOutcome:
    config = result.expectation_config
    details = result.result or {}
    return ExpectationOutcome(
        expectation=config.type,
        column=config.kwargs.get("column"),
        success=bool(result.success),
        observed=_json_safe(details.get("observed_value")),
        unexpected_count=details.get("unexpected_count"),
        unexpected_percent=_json_safe(details.get("unexpected_percent")),
        unexpected_values=_distinct(details.get("partial_unexpected_list", [])),
        unexpected_rows=[int(i) for i in details.get("partial_unexpected_index_list") or []],
        error=_exception_message(result.exception_info),
    )


def run_suite(
    frame: pd.DataFrame, suite: gx.ExpectationSuite, docs_dir: Path | None = None
) -> ValidationSummary:
    """Validate one in-memory frame through a Checkpoint; with ``docs_dir``, also write Data Docs.

    An ephemeral context keeps no GE project on disk: the suites live in code
    (``pipelines.expectations``) and only the reports are outputs.
    """
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        # tqdm bars per metric would flood DVC's log; the stage reports progress itself
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    actions = []
    if docs_dir is not None:
        context.add_data_docs_site(
            site_name=DATA_DOCS_SITE,
            site_config={
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir.resolve()),
                },
            },
        )
        actions.append(UpdateDataDocsAction(name="update_data_docs", site_names=[DATA_DOCS_SITE]))
    batch = (
        context.data_sources.add_pandas(name="frames")
        .add_dataframe_asset(name=suite.name)
        .add_batch_definition_whole_dataframe(name="whole")
    )
    suite = context.suites.add(suite)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=suite.name, data=batch, suite=suite)
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=suite.name,
            validation_definitions=[definition],
            actions=actions,
            result_format={"result_format": "SUMMARY"},
        )
    )
    result = checkpoint.run(batch_parameters={"dataframe": frame})
    (run,) = result.run_results.values()
    outcomes = [_outcome(r) for r in run.results]
    index = docs_dir / "index.html" if docs_dir is not None else None
    return ValidationSummary(
        suite=suite.name,
        success=bool(result.success),
        rows=len(frame),
        evaluated=len(outcomes),
        failed=sum(not o.success for o in outcomes),
        data_docs_index=str(index) if index is not None and index.exists() else None,
        results=outcomes,
    )


def failure_message(summary: ValidationSummary, what: str) -> str:
    """The UserError text: each failed expectation with a few failing values."""
    lines = [f"{what} failed {summary.failed} of {summary.evaluated} expectations:"]
    lines += [f"  - {o.describe()}" for o in summary.failures()]
    if summary.data_docs_index:
        lines.append(f"Details: {summary.data_docs_index}")
    return "\n".join(lines)


def read_raw(raw: Path) -> pd.DataFrame:
    """Read twcs as strings, so validation sees the file's values and not pandas' guesses."""
    if not raw.is_file():
        raise UserError(
            f"raw data {raw} not found: run `tweetcare data generate` (or point data.raw in "
            "params.yaml at a twcs.csv)"
        )
    try:
        # only an empty field is missing: a tweet that reads "NA" or "null" is still text
        return pd.read_csv(raw, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise UserError(
            f"{raw} is not a readable twcs CSV ({err}); expected columns {', '.join(TWCS_COLUMNS)}"
        ) from err


def validate(raw: Path, params: ValidateParams, report_dir: Path = REPORT_DIR) -> ValidationSummary:
    """Validate the raw twcs file; write the JSON summary and Data Docs; raise if it fails."""
    frame = raw_validation_frame(read_raw(raw))
    report_dir.mkdir(parents=True, exist_ok=True)
    summary = run_suite(frame, raw_suite(params), docs_dir=report_dir / DATA_DOCS_DIR)
    (report_dir / SUMMARY_FILE).write_text(json.dumps(summary.to_json(), indent=2) + "\n")
    if not summary.success:
        raise UserError(failure_message(summary, f"raw data {raw}"))
    return summary


def main() -> None:
    console = Console(stderr=True, soft_wrap=True)
    try:
        params = load_params()
        with console.status(f"validating {params.data.raw} with Great Expectations"):
            summary = validate(params.data.raw, params.validate_)
    except UserError as err:
        console.print(f"[bold red]validation failed:[/] {err}", highlight=False)
        sys.exit(1)
    console.print(
        f"[green]ok[/] {summary.rows} rows passed {summary.evaluated} expectations; "
        f"Data Docs: {summary.data_docs_index}"
    )


if __name__ == "__main__":
    main()
