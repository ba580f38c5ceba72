"""Times as the console shows them: UTC parsing of stored values, compact durations, SLAs."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any


def parse_time(value: Any) -> datetime | None:
    """A UTC datetime from an ISO string or a datetime (SQLite hands back naive UTC ones)."""
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def format_duration(seconds: float | None) -> str:
    """Compact and readable: `45s`, `12m`, `2h 05m`, `3d 4h`."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    seconds = abs(int(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def sla_text(seconds_left: float | None) -> str:
    if seconds_left is None or (isinstance(seconds_left, float) and math.isnan(seconds_left)):
        return "—"
    if seconds_left < 0:
        return f"overdue by {format_duration(seconds_left)}"
    return f"due in {format_duration(seconds_left)}"
