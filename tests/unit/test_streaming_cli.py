"""`tweetcare stream`: the spark-submit command line, the settings handed to the job, status."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fixtures.kafka import free_ports
from tweetcare.cli.stream import app, job_path, spark_submit_command
from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.tickets import TicketStore


def test_the_command_runs_the_job_file_with_the_connector_jars(tmp_path: Path) -> None:
    (tmp_path / "spark").mkdir()
    for name in ("b.jar", "a.jar"):
        (tmp_path / "spark" / name).touch()
    command = spark_submit_command(Settings(jars_dir=tmp_path))
    jars = command[command.index("--jars") + 1].split(",")
    assert jars == [str(tmp_path / "spark" / "a.jar"), str(tmp_path / "spark" / "b.jar")]
    assert str(job_path()) in command and job_path().is_file()
    assert command[command.index("--stop-file") + 1].endswith("stream.stop")
    assert "local[2]" in command and "spark.ui.enabled=false" in command


def test_missing_jars_are_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="make jars"):
        spark_submit_command(Settings(jars_dir=tmp_path))


def test_the_job_sees_the_same_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(state_dir=tmp_path / "s", kafka_port=19092, trigger_seconds=0.5)
    for name, value in settings.to_env().items():
        monkeypatch.setenv(name, value)
    again = Settings()
    assert again.kafka_bootstrap == settings.kafka_bootstrap
    assert again.checkpoint_dir == (tmp_path / "s" / "checkpoints" / "stream")
    assert again.trigger_seconds == 0.5


def test_status_shows_counts_from_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'tickets.db'}"
    store = TicketStore(url)
    store.create_schema()
    store.record_batch("s-1", n_messages=42, n_valid=40, n_dead_lettered=2)
    monkeypatch.setenv("TWEETCARE_TICKETS_DB_URL", url)
    monkeypatch.setenv("TWEETCARE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("TWEETCARE_KAFKA_PORT", str(free_ports(1)[0]))
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 1, result.output  # down
    assert "down (stopped" in result.output and "lag: unknown" in result.output
    assert "42" in result.output and "dead_lettered" in result.output
