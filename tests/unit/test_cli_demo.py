"""`tweetcare demo` keeps its runtime state in its own folder and clears nothing else."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tweetcare.cli import demo
from tweetcare.cli.demo import demo_settings, registry_lost, reset_demo_state
from tweetcare.core.settings import Settings


def test_the_demo_state_lives_in_its_own_folder(tmp_path: Path) -> None:
    folder = tmp_path / ".tweetcare" / "demo"
    settings = demo_settings(Settings(), folder)
    assert settings.state_dir == folder
    assert settings.lake_dir == folder / "lake"
    assert settings.tickets_db_url == f"sqlite:///{folder / 'tickets.db'}"
    assert settings.checkpoint_dir.is_relative_to(folder)
    # the other settings are the caller's
    assert settings.kafka_bootstrap == Settings().kafka_bootstrap


def test_a_fresh_demo_clears_only_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    mine = [Path("lake/tweets/part.parquet"), Path("tickets.db"), Path(".tweetcare/kafka/meta")]
    theirs = [Path(".tweetcare/demo/lake/x.parquet"), Path(".tweetcare/demo/tickets.db")]
    for path in mine + theirs:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("state")

    reset_demo_state(demo_settings(Settings(), Path(".tweetcare/demo")))

    assert all(path.exists() for path in mine)
    assert not Path(".tweetcare/demo").exists()


def test_a_deleted_registry_is_noticed_from_the_lock(tmp_path: Path) -> None:
    lock = tmp_path / "dvc.lock"
    db = tmp_path / "mlflow.db"
    uri = f"sqlite:///{db}"
    assert not registry_lost(uri, lock)  # nothing ran yet
    lock.write_text("schema: '2.0'\nstages:\n  register:\n    cmd: python -m pipelines.register\n")
    assert registry_lost(uri, lock)  # registered once, registry gone since
    db.write_bytes(b"")
    assert not registry_lost(uri, lock)
    assert not registry_lost("http://127.0.0.1:5000", lock)  # a server's registry is its own


def test_a_lost_registry_on_a_fresh_clone_builds_the_features_before_retraining(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh clone has dvc.lock but neither artifacts/ nor mlflow.db: `dvc repro -sf train`
    alone would find no features."""
    monkeypatch.chdir(tmp_path)
    Path("dvc.lock").write_text("schema: '2.0'\nstages:\n  register:\n    cmd: x\n")
    ran: list[list[str]] = []

    def record(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        ran.append(command)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(demo.subprocess, "run", record)
    demo.run_pipeline(Settings(mlflow_tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}"))
    assert ran == [
        ["dvc", "repro", "featurize"],
        ["dvc", "repro", "-sf", "train"],
        ["dvc", "repro", "-sf", "train_analysis"],
        ["dvc", "repro"],
    ]
