"""The Makefile's clean targets: `clean` removes build outputs only; the demo's state, the
ticket store and the console's agents go only through targets named for them, which say what
they delete. Each target runs for real in a scratch copy of the project's layout."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# live data and tracked outputs no clean target may touch unless it is named for them
LIVE = ("tickets.db", ".tweetcare/users.yaml", ".tweetcare/logs/kafka.log", "lake/x.parquet")
TRACKED = ("metrics/train.json", "plots/compare.csv", "reports/validation/raw.json")
PIPELINE = ("artifacts/model.pkl", "mlflow.db")
BUILD = ("site/index.html", "build/lib/x.py", "dist/tweetcare.zip", "tweetcare/__pycache__/x.pyc")
DEMO = (".tweetcare/demo/tickets.db", ".tweetcare/demo/lake/x.parquet")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The Makefile in a folder holding one file of each kind (no .venv: no service runs)."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    for name in (*LIVE, *TRACKED, *PIPELINE, *BUILD, *DEMO, "tickets.db-wal"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("kept?\n")
    return tmp_path


def make(project: Path, target: str) -> str:
    done = subprocess.run(
        ["make", "-s", target], cwd=project, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def present(project: Path, names: tuple[str, ...]) -> list[str]:
    return [name for name in names if (project / name).exists()]


def test_the_dry_run_of_clean_names_no_data() -> None:
    planned = subprocess.run(
        ["make", "-n", "clean"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    for name in ("tickets.db", ".tweetcare", "metrics", "plots", "reports", "lake", "artifacts"):
        assert name not in planned, planned


def test_clean_removes_build_outputs_only(project: Path) -> None:
    make(project, "clean")
    assert present(project, BUILD) == []
    kept = (*LIVE, *TRACKED, *PIPELINE, *DEMO)
    assert present(project, kept) == list(kept)


def test_clean_demo_removes_the_demo_state_only(project: Path) -> None:
    said = make(project, "clean-demo")
    assert ".tweetcare/demo" in said and "cluster" in said  # it says what goes
    assert present(project, DEMO) == [] and not (project / ".tweetcare" / "demo").exists()
    kept = (*LIVE, *TRACKED, *PIPELINE, *BUILD)
    assert present(project, kept) == list(kept)


@pytest.mark.parametrize(
    ("target", "gone"),
    [
        ("clean-tickets", ("tickets.db", "tickets.db-wal")),
        ("clean-users", (".tweetcare/users.yaml",)),
    ],
)
def test_tickets_and_users_go_only_through_their_own_target(
    project: Path, target: str, gone: tuple[str, ...]
) -> None:
    said = make(project, target)
    assert all(name in said for name in gone)  # it says what it deletes
    assert present(project, gone) == []
    kept = tuple(n for n in (*LIVE, *TRACKED, *PIPELINE, *BUILD, *DEMO) if n not in gone)
    assert present(project, kept) == list(kept)
