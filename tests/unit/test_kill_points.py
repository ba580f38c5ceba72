"""The fault tests' pinned crash points: a process dies by SIGKILL exactly where the environment
pins it, once when a marker file is named, and never when nothing is pinned."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tweetcare.core.kill_points import KILL_AT_ENV, KILL_ONCE_ENV

# reaches two points in turn and says which it got past
REACH = """
from tweetcare.core.kill_points import kill_point
kill_point("a.first"); print("past a.first", flush=True)
kill_point("b.second"); print("past b.second", flush=True)
"""


def reach(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in (KILL_AT_ENV, KILL_ONCE_ENV)}
    return subprocess.run(
        [sys.executable, "-c", REACH],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_nothing_pinned_passes_every_point() -> None:
    done = reach({})
    assert done.returncode == 0 and done.stdout.split("\n")[:2] == ["past a.first", "past b.second"]


def test_a_pinned_point_kills_there_and_not_before() -> None:
    died = reach({KILL_AT_ENV: "c.other,b.second"})
    assert died.returncode == -9
    assert died.stdout == "past a.first\n"  # nothing after the point ran, not even a flush


def test_a_marker_file_lets_only_the_first_process_die(tmp_path: Path) -> None:
    env = {KILL_AT_ENV: "a.first", KILL_ONCE_ENV: str(tmp_path / "killed")}
    assert reach(env).returncode == -9
    assert (tmp_path / "killed").exists()
    restarted = reach(env)  # the same environment, as a supervisor restarts it
    assert restarted.returncode == 0 and "past b.second" in restarted.stdout
