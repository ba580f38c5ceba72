"""The console's own knobs: how much it shows and how often it refreshes.

Endpoints come from `tweetcare.core.settings.Settings` like every other part; these are only the
presentation choices, kept in one place instead of scattered through the pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

APP_PATH = Path(__file__).with_name("app.py")
DEFAULT_PORT = 8501


@dataclass(frozen=True)
class ConsoleConfig:
    # seconds between refreshes of the Live page while it is open
    live_refresh_seconds: float = 5.0
    # how far back the Live page looks, and the width of one bar of its charts
    live_window_minutes: int = 15
    live_bin_seconds: int = 30
    # tickets read from the store per page load; queues show the most urgent first
    max_tickets: int = 5000
    # rows per team table before the page says how many more there are
    rows_per_queue: int = 25
    # seconds one model-server call may take before the page says it is not answering
    http_timeout_seconds: float = 20.0
    # seconds a status probe waits (the sidebar checks every backend on each page load)
    probe_timeout_seconds: float = 2.0


CONFIG = ConsoleConfig()
