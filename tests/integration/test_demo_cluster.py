"""`make demo-cluster` as a new user runs it: in a fresh clone (an empty DVC cache, so the
pipeline trains everything) inside a folder closed to other users (`mktemp -d`), the real
Makefile recipe: `tweetcare cluster start --fresh`, `tweetcare demo` in the environment `tweetcare
cluster env` prints, `tweetcare cluster stop`.

Only the installation steps are skipped (`make -o`): the clone uses this checkout's virtualenv,
with the clone first on PYTHONPATH, and its resolved jars. Like a user's clone it holds the
committed code (HEAD), so commit what it should run. The slowest test: it sits in the cluster
suite (`make test-cluster`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.cluster,
    pytest.mark.slow,
    pytest.mark.timeout(3600),
]

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent
# what `make demo-cluster` would install first; provided here by this checkout
INSTALL_TARGETS = ("install", "jars", "jars-cluster", "postgres")
DEMO_TIMEOUT_S = 3300


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def fresh_clone() -> Iterator[Path]:
    """A clone of this checkout's HEAD in a new 0700 folder; its cluster state, the database's
    files outside the folder included, is deleted afterwards."""
    parent = Path(tempfile.mkdtemp(prefix="tweetcare-fresh-"))
    clone = parent / "tweetcare"
    try:
        git("clone", "-q", str(ROOT), str(clone))
        yield clone
    finally:
        if (clone / ".tweetcare").exists():
            subprocess.run(
                [str(VENV / "bin" / "tweetcare"), "cluster", "stop", "--delete"],
                cwd=clone,
                env=user_env(clone),
                capture_output=True,
                check=False,
            )
        shutil.rmtree(parent, ignore_errors=True)


def user_env(clone: Path) -> dict[str, str]:
    """A new user's environment: no TWEETCARE_* or MLflow settings of this session."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TWEETCARE_", "MLFLOW_"))
    }
    return {
        **env,
        "PYTHONPATH": str(clone),
        "TWEETCARE_JARS_DIR": str((ROOT / ".jars").resolve()),
    }


def test_make_demo_cluster_passes_from_a_fresh_clone(fresh_clone: Path) -> None:
    skipped = [arg for target in INSTALL_TARGETS for arg in ("-o", target)]
    result = subprocess.run(
        ["make", *skipped, f"VENV={VENV}", "demo-cluster"],
        cwd=fresh_clone,
        env=user_env(fresh_clone),
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT_S,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "reconciled: replayed = lake rows + dead-lettered" in output
    # the pipeline ran into its own store, which DVC follows: nothing left to reproduce
    assert (fresh_clone / "mlflow.db").is_file()
    status = subprocess.run(
        [str(VENV / "bin" / "dvc"), "status", "--json"],
        cwd=fresh_clone,
        env=user_env(fresh_clone),
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(status.stdout) == {}, status.stdout
    # ... and its champions went to the cluster's MLflow server
    receipt = json.loads((fresh_clone / ".tweetcare" / "demo" / "registry.json").read_text())
    assert receipt["tracking_uri"].startswith("http://127.0.0.1:")
    assert receipt["registered"]
