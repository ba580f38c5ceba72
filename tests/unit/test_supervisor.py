"""`tweetcare stream start|stop|status` around a stand-in job: a real supervisor process restarts
the job with backoff when it dies, stops it cleanly, and gives up on a job that cannot start."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fixtures.kafka import free_ports
from tweetcare.cli.stream import (
    app,
    lag_of,
    progress_file,
    start_stream,
    stop_stream,
    stream_health,
    supervisor_file,
)
from tweetcare.core.settings import Settings
from tweetcare.process import Service, ServiceError, alive
from tweetcare.supervisor import read_state

# a job that records each run, touches the ready file, then follows its script: exit at once
# with the code given for that run, or run (as a long-lived job does) until the stop file appears
JOB = """
import os, pathlib, sys, time
state, codes = pathlib.Path(sys.argv[1]), [c for c in sys.argv[2].split(",") if c]
runs = state / "runs"
n = len(runs.read_text().splitlines()) if runs.exists() else 0
with runs.open("a") as out:
    out.write(f"{os.getpid()}\\n")
if n < len(codes) and codes[n] == "2":
    sys.exit(2)  # cannot start: never gets as far as its query
(state / "stream.ready").touch()
if n < len(codes):
    sys.exit(int(codes[n]))
while not (state / "stream.stop").exists():
    time.sleep(0.1)
print("stand-in job: stream stopped", flush=True)
"""


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    (kafka_port,) = free_ports(1)  # nothing listens there: the lag is unknown
    settings = Settings(
        state_dir=tmp_path / "state",
        kafka_port=kafka_port,
        tickets_db_url=f"sqlite:///{tmp_path / 'tickets.db'}",
    )
    for name, value in settings.to_env().items():
        monkeypatch.setenv(name, value)
    settings.state_dir.mkdir(parents=True)
    yield settings
    stop_stream(settings)


def job(settings: Settings, tmp_path: Path, codes: str) -> list[str]:
    script = tmp_path / "job.py"
    script.write_text(JOB)
    return [sys.executable, str(script), str(settings.state_dir), codes]


def runs(settings: Settings) -> list[int]:
    path = settings.state_dir / "runs"
    return [int(pid) for pid in path.read_text().split()] if path.exists() else []


def job_up(settings: Settings, run: int) -> bool:
    """The `run`th job is the one the supervisor says runs, and it is alive (cheap to poll)."""
    pids = runs(settings)
    state = read_state(supervisor_file(settings))
    return len(pids) == run and state.get("job_pid") == pids[-1] and alive(pids[-1])


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_a_job_that_dies_is_restarted_with_growing_pauses_then_stopped_cleanly(
    settings: Settings, tmp_path: Path
) -> None:
    start_stream(settings, job(settings, tmp_path, "1,1"))  # dies twice, then stays up
    wait_for(lambda: job_up(settings, 3), "third run")
    health = stream_health(settings)
    assert health["restarts"] == 2 and health["state"] == "running"
    assert health["job_pid"] == runs(settings)[-1]
    assert health["last_error"].startswith("the job exited with code 1")
    log = Service("stream", settings.state_dir).log_tail(100)
    assert "restart 1 in 2.0s" in log and "restart 2 in 4.0s" in log  # doubling pauses

    # the job's whole process group killed outright (an OOM kill, a lost node): started again
    os.killpg(health["job_pid"], signal.SIGKILL)
    wait_for(lambda: job_up(settings, 4), "fourth run")
    assert read_state(supervisor_file(settings))["restarts"] == 3
    assert "code -9" in Service("stream", settings.state_dir).log_tail(100)

    last_job = runs(settings)[-1]
    assert stop_stream(settings) is True
    assert not alive(last_job) and not Service("stream", settings.state_dir).is_running()
    assert "stand-in job: stream stopped" in Service("stream", settings.state_dir).log_tail(50)
    assert read_state(supervisor_file(settings))["state"] == "stopped"
    assert stop_stream(settings) is False


def test_a_job_that_cannot_start_is_not_restarted(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(ServiceError, match="exited before started its query"):
        start_stream(settings, job(settings, tmp_path, "2"))
    assert len(runs(settings)) == 1
    state = read_state(supervisor_file(settings))
    assert (state["state"], state["last_exit_code"]) == ("failed", 2)


def test_a_job_in_a_crash_loop_is_given_up_on_after_the_cap(
    settings: Settings, tmp_path: Path
) -> None:
    capped = settings.model_copy(update={"stream_max_failures": 2})
    start_stream(capped, job(capped, tmp_path, "1,1,1,1"))
    wait_for(lambda: not Service("stream", capped.state_dir).is_running(), "the supervisor ends")
    assert len(runs(capped)) == 2  # the first run and one restart, not one more
    health = stream_health(capped)
    assert (health["up"], health["state"]) == (False, "failed")
    assert "gave up after 2 failed runs in a row" in health["last_error"]
    assert "not restarting it" in Service("stream", capped.state_dir).log_tail(20)


def test_status_says_up_or_down_lag_last_error_and_restarts(
    settings: Settings, tmp_path: Path
) -> None:
    runner = CliRunner()
    down = runner.invoke(app, ["status", "--json"])
    assert down.exit_code == 1
    health = json.loads(down.output)
    assert (health["up"], health["state"], health["restarts"]) == (False, "stopped", 0)
    assert "did not answer" in health["lag"]["error"]
    assert "did not answer" in health["lake_lag"]["error"]

    start_stream(settings, job(settings, tmp_path, ""))
    progress = {
        "query_id": "q",
        "batch_id": 7,
        "updated_at": "2026-11-30T12:00:00+00:00",
        "end_offsets": {settings.topic_tweets: {"0": 40, "1": 2}},
        "rows": 42,
        "dead_letters": 1,
        "last_error": "model server unavailable, waiting",
    }
    progress_file(settings).write_text(json.dumps(progress))
    up = runner.invoke(app, ["status"])
    assert up.exit_code == 0, up.output
    assert "up" in up.output and "restarts: 0" in up.output
    assert "last batch: 7" in up.output and "model server unavailable" in up.output
    assert "lag: unknown" in up.output


def test_lag_is_what_the_job_has_not_finished() -> None:
    assert lag_of({"0": 50, "1": 7, "2": 0}, {"0": 40, "1": 7}) == {"0": 10, "1": 0, "2": 0}
