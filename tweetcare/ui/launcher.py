"""How the console is started: `streamlit run` on the app with the project's settings.

Shared by `tweetcare ui` and the browser-test fixture, so both run the app the same way.
"""

from __future__ import annotations

import sys

from tweetcare.core.settings import Settings
from tweetcare.ui.config import APP_PATH

LOOPBACK = "127.0.0.1"


def console_command(port: int, address: str = LOOPBACK) -> list[str]:
    """`python -m streamlit run app.py` headless on `address:port`, without telemetry or developer menus."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_PATH),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
    ]


def console_env(settings: Settings) -> dict[str, str]:
    """Every setting as a TWEETCARE_* variable (paths absolute), so the app sees what we see."""
    return settings.to_env()


def console_url(port: int, address: str = LOOPBACK) -> str:
    return f"http://{address}:{port}"
