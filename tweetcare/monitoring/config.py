"""The `monitor:` block of params.yaml, typed: windows, drift thresholds, alert rules."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveInt, ValidationError, field_validator, model_validator

from tweetcare.core.errors import UserError, describe_validation
from tweetcare.core.params import DEFAULT_PARAMS, Section, read_params

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str | timedelta) -> timedelta:
    """`15m`, `90s`, `2h`, `1d` as a timedelta; UserError on anything else."""
    if isinstance(text, timedelta):
        return text
    match = _DURATION.match(str(text))
    if not match or float(match.group(1)) <= 0:
        raise UserError(f"bad duration {text!r}: use a number and s, m, h or d, e.g. 15m")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


class DriftRule(Section):
    """An Evidently drift method (`psi`, `wasserstein`, `abs_text_content_drift`, ...) and the
    threshold it flags at."""

    method: str
    threshold: float


class QualityParams(Section):
    max_dead_letter_rate: float = 0.05
    max_missing_share: float = 0.02
    required: list[str] = Field(default_factory=lambda: ["tweet_id", "text"])


class EscalationParams(Section):
    # event time: a burst is customers tweeting at once, whenever the stream gets to them
    time_column: str = "created_at"
    window: timedelta = timedelta(minutes=5)
    history: int = 12
    # history windows with tweets in them needed for a baseline (fewer: nothing alerts)
    min_history: PositiveInt = 6
    k: float = 3.0
    min_std: float = 1.0
    min_count: dict[str, int] = Field(
        default_factory=lambda: {"complaints": 15, "outage": 8, "viral_thread": 10}
    )
    complaint_categories: list[str] = Field(default_factory=list)
    outage_categories: list[str] = Field(default_factory=lambda: ["technical"])
    outage_words: list[str] = Field(default_factory=lambda: ["outage", "down"])
    incident_ttl: timedelta = timedelta(minutes=60)
    max_tweet_ids: int = 200

    _durations = field_validator("window", "incident_ttl", mode="before")(parse_duration)

    @model_validator(mode="after")
    def _history_holds_a_baseline(self) -> EscalationParams:
        if self.min_history > self.history:
            raise ValueError(
                f"min_history ({self.min_history}) is more than the history windows kept "
                f"({self.history}): nothing could ever alert"
            )
        return self


class LiveHourParams(Section):
    """`tweetcare demo`'s "live hour" (tweetcare.monitoring.live_hour): an hour of generated
    traffic ending when it is sent, with a shift and a burst for the monitor to find. Every
    figure is set in params.yaml (no defaults here), so the demo's stream is what it says."""

    seed: int
    duration: timedelta
    # steady traffic over the hour but its last two monitor windows
    steady_rows: PositiveInt
    # the last two windows: steady, then `shift` (half each; a half under min_rows is not judged)
    shift_rows: PositiveInt
    shift: Literal["language", "category"]
    # similar complaints to `brand` in `category` over the last `burst_duration`
    burst: PositiveInt
    burst_duration: timedelta
    brand: str
    category: str

    _durations = field_validator("duration", "burst_duration", mode="before")(parse_duration)


class MonitorParams(Section):
    time_column: str = "processed_at"
    window: timedelta = timedelta(minutes=15)
    min_rows: int = 200
    reference: Path | None = Path("artifacts/features/train.parquet")
    max_reference_rows: int = 5000
    seed: int = 42
    drift: dict[str, DriftRule] = Field(default_factory=dict)
    quality: QualityParams = Field(default_factory=QualityParams)
    escalation: EscalationParams = Field(default_factory=EscalationParams)
    # only `tweetcare demo` reads it; a monitor run ignores it
    live_hour: LiveHourParams | None = None

    _window = field_validator("window", mode="before")(parse_duration)


def load_monitor_params(path: Path = DEFAULT_PARAMS) -> MonitorParams:
    """The `monitor:` block of `path`; UserError when the file or the block is missing."""
    raw = read_params(path)
    if "monitor" not in raw:
        raise UserError(f"{path} has no `monitor:` block: see the README section Monitoring")
    try:
        return MonitorParams.model_validate(raw["monitor"])
    except ValidationError as err:
        raise UserError(f"{path} has a bad `monitor:` block: {describe_validation(err)}") from None
