"""Prove that data/ is the version data.dvc records, using DVC itself to hash it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tweetcare.core.errors import UserError


def venv_env() -> dict[str, str]:
    """The environment with this interpreter's bin first, so `dvc` is this venv's."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}


def check_data_version(dvc_file: Path) -> None:
    """Hash data/ into the DVC cache and fail if it is not the version `dvc_file` records.

    `dvc status` cannot tell "changed" from "not cached yet" on a fresh clone (the cache is
    empty), so this commits the folder and compares the recorded hash before and after.
    """
    recorded = dvc_file.read_text()
    result = _dvc_commit(dvc_file)
    now = dvc_file.read_text()
    if result.returncode != 0 or now != recorded:
        dvc_file.write_text(recorded)
        raise UserError(
            f"data/ differs from the version {dvc_file} records"
            f"{': ' + result.stderr.strip() if result.returncode else ''}\n"
            "regenerate it with `tweetcare data generate` (same seed gives the same bytes) "
            "or, for new data on purpose, `dvc add data`"
        )


def record_data_version(dvc_file: Path) -> None:
    """`dvc commit` the folder `dvc_file` tracks: its new content becomes the recorded (new)
    data version."""
    result = _dvc_commit(dvc_file)
    if result.returncode != 0:
        raise UserError(f"`dvc commit {dvc_file}` failed: {result.stderr.strip()}")


def _dvc_commit(dvc_file: Path) -> subprocess.CompletedProcess[str]:
    """Hash the tracked folder into the cache and record it in `dvc_file`."""
    return subprocess.run(
        ["dvc", "commit", "--force", "--quiet", dvc_file.name],
        cwd=dvc_file.resolve().parent,  # the DVC repo it belongs to, wherever we run from
        env=venv_env(),
        capture_output=True,
        text=True,
        check=False,
    )
