"""An earlier commit's package, written out to run beside today's code in one benchmark run."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def package_at(commit: str, package: str, into: Path) -> Path:
    """The `.py` files of ``package`` (a top-level folder) as they were at ``commit``, written
    to ``into/package``; returns ``into``, the folder to run that code from."""
    target = into / package
    target.mkdir(parents=True, exist_ok=True)
    for name in _git("ls-tree", "--name-only", f"{commit}:{package}").split():
        if name.endswith(".py"):
            (target / name).write_text(_git("show", f"{commit}:{package}/{name}"))
    return into
