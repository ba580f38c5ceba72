"""Services hold a lock for their whole life and are signalled only by identity: a second job on
one checkpoint is refused, and a pid that now belongs to another process is never signalled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fixtures.kafka import free_ports
from tweetcare.cli.stream import (
    checkpoint_lock_file,
    start_stream,
    stop_stream,
    stream_health,
    stream_service,
    supervisor_file,
)
from tweetcare.core.pids import ProcessIdentity, alive, identity_of
from tweetcare.core.settings import Settings
from tweetcare.process import Service, ServiceError
from tweetcare.service_lock import ServiceLock, is_locked
from tweetcare.supervisor import read_state, write_json

TWEETCARE = Path(sys.executable).with_name("tweetcare")
# a stand-in job: says it started, then runs until the stop file appears
JOB = """
import pathlib, sys, time
state = pathlib.Path(sys.argv[1])
with (state / "runs").open("a") as out:
    out.write("run\\n")
(state / "stream.ready").touch()
while not (state / "stream.stop").exists():
    time.sleep(0.1)
"""


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def stream_settings(tmp_path: Path, name: str, checkpoint: Path) -> Settings:
    (kafka_port,) = free_ports(1)
    settings = Settings(
        state_dir=tmp_path / name,
        kafka_port=kafka_port,
        tickets_db_url=f"sqlite:///{tmp_path / 'tickets.db'}",
        checkpoint_uri=checkpoint.as_uri(),
    )
    settings.state_dir.mkdir(parents=True)
    return settings


def job(settings: Settings, tmp_path: Path) -> list[str]:
    script = tmp_path / "job.py"
    script.write_text(JOB)
    return [sys.executable, str(script), str(settings.state_dir)]


def runs(settings: Settings) -> int:
    path = settings.state_dir / "runs"
    return len(path.read_text().splitlines()) if path.exists() else 0


@pytest.fixture
def two_on_one_checkpoint(tmp_path: Path) -> Iterator[tuple[Settings, Settings]]:
    """Two state folders whose streams would share one checkpoint."""
    checkpoint = tmp_path / "shared" / "checkpoint"
    first = stream_settings(tmp_path, "first", checkpoint)
    second = stream_settings(tmp_path, "second", checkpoint)
    yield first, second
    stop_stream(second)
    stop_stream(first)


@pytest.fixture
def stranger() -> Iterator[ProcessIdentity]:
    """A live process tweetcare did not start (its own process group, like a service's)."""
    proc = subprocess.Popen(["sleep", "120"], start_new_session=True)
    identity = identity_of(proc.pid)
    assert identity is not None
    yield identity
    proc.kill()
    proc.wait()


def test_a_second_stream_on_the_same_checkpoint_is_refused(
    two_on_one_checkpoint: tuple[Settings, Settings], tmp_path: Path
) -> None:
    first, second = two_on_one_checkpoint
    assert checkpoint_lock_file(first) == checkpoint_lock_file(second)
    start_stream(first, job(first, tmp_path))
    with pytest.raises(ServiceError, match="already running or being started") as refused:
        start_stream(second, job(second, tmp_path))
    assert "\n" not in str(refused.value) and str(checkpoint_lock_file(first)) in str(refused.value)
    assert (runs(first), runs(second)) == (1, 0)

    # the CLI says so in one line and exits 1 (a runtime failure), without needing Spark
    env = {**os.environ, **second.to_env(), "COLUMNS": "200"}
    done = subprocess.run(
        [str(TWEETCARE), "stream", "start"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "already running or being started" in lines[0]
    assert runs(second) == 0

    assert stop_stream(first) is True
    wait_for(lambda: not is_locked(checkpoint_lock_file(first)), "the lock goes with the job")
    start_stream(second, job(second, tmp_path))  # the checkpoint is free again
    assert runs(second) == 1


def test_a_start_racing_another_start_touches_nothing(
    two_on_one_checkpoint: tuple[Settings, Settings], tmp_path: Path
) -> None:
    first, _ = two_on_one_checkpoint
    ready = first.state_dir / "stream.ready"
    ready.touch()  # the marker the other start's job has just written
    with ServiceLock(checkpoint_lock_file(first)) as other_start:
        assert other_start.acquire()
        with pytest.raises(ServiceError, match="already running or being started"):
            start_stream(first, job(first, tmp_path))
    assert ready.exists() and runs(first) == 0


def test_a_job_outliving_its_killed_supervisor_still_holds_the_checkpoint(
    two_on_one_checkpoint: tuple[Settings, Settings], tmp_path: Path
) -> None:
    first, second = two_on_one_checkpoint
    start_stream(first, job(first, tmp_path))
    orphan = ProcessIdentity.from_dict(read_state(supervisor_file(first))["job_identity"])
    assert orphan is not None and orphan.is_running()
    supervisor = stream_service(first).pid()
    assert supervisor is not None
    os.kill(supervisor, signal.SIGKILL)
    wait_for(lambda: not stream_service(first).is_running(), "the supervisor is gone")
    assert orphan.is_running()
    with pytest.raises(ServiceError, match="already running or being started"):
        start_stream(second, job(second, tmp_path))
    assert stop_stream(first) is False  # no supervisor, but its orphaned job is ended
    wait_for(lambda: not orphan.is_running(), "the orphaned job ends")
    start_stream(second, job(second, tmp_path))
    assert runs(second) == 1


def test_a_services_lock_is_released_however_it_ends(tmp_path: Path) -> None:
    lock = tmp_path / "shared.lock"
    one, two = Service("one", tmp_path / "a", lock), Service("two", tmp_path / "b", lock)
    pid = one.start(["sleep", "120"])
    assert one.start(["sleep", "120"]) == pid  # its own second start: it already runs
    with pytest.raises(ServiceError, match="already running or being started"):
        two.start(["sleep", "120"])
    os.killpg(pid, signal.SIGKILL)
    wait_for(lambda: not one.is_running(), "the service is gone")
    other = two.start(["sleep", "120"])
    assert two.pid() == other and is_locked(lock)
    assert two.stop(timeout=5) is True and not is_locked(lock)


@pytest.mark.parametrize("recorded", ["other start time", "other boot", "pid only"])
def test_a_pid_now_used_by_another_process_is_not_signalled(
    tmp_path: Path, stranger: ProcessIdentity, recorded: str
) -> None:
    service = Service("bentoml", tmp_path)
    if recorded == "pid only":  # what an older tweetcare wrote: no way to tell who it is
        service.pid_file.write_text(str(stranger.pid))
    else:
        changed = {
            "other start time": {"started": stranger.started - 1},
            "other boot": {"boot_id": "00000000-0000-0000-0000-000000000000"},
        }[recorded]
        service.pid_file.write_text(json.dumps({**stranger.as_dict(), **changed}))
    assert service.pid() is None and not service.pid_file.exists()
    service.pid_file.write_text(str(stranger.pid))
    assert service.stop(timeout=1) is False
    assert stranger.is_running()


def test_stream_status_and_stop_leave_a_stranger_with_the_jobs_old_pid_alone(
    tmp_path: Path, stranger: ProcessIdentity
) -> None:
    settings = stream_settings(tmp_path, "state", tmp_path / "checkpoint")
    state = {"state": "running", "job_pid": stranger.pid, "restarts": 0}
    reused = {**stranger.as_dict(), "started": stranger.started + 1}
    write_json(supervisor_file(settings), {**state, "job_identity": reused})
    assert stop_stream(settings) is False
    assert stranger.is_running()
    # a live supervisor whose state names a job pid someone else now has: the job is down
    supervisor = subprocess.Popen(["sleep", "120"], start_new_session=True)
    try:
        identity = identity_of(supervisor.pid)
        assert identity is not None
        Service("stream", settings.state_dir).pid_file.write_text(json.dumps(identity.as_dict()))
        health = stream_health(settings)
        assert health["supervisor_pid"] == supervisor.pid
        assert (health["up"], health["job_pid"]) == (False, None)
    finally:
        supervisor.kill()
        supervisor.wait()
    assert alive(stranger.pid)


def test_a_process_whose_main_thread_ended_first_is_alive_until_its_last_thread_ends(
    tmp_path: Path,
) -> None:
    """How a JVM shuts down: its leader shows as a zombie while its other threads (and its
    open lock) live on; it is not gone, nor its lock free, until the last one ends."""
    release, started = tmp_path / "release", tmp_path / "started"
    script = (
        "import ctypes, pathlib, threading, time\n"
        f"release, started = pathlib.Path({str(release)!r}), pathlib.Path({str(started)!r})\n"
        "def wait():\n"
        "    while not release.exists():\n"
        "        time.sleep(0.05)\n"
        "threading.Thread(target=wait).start()\n"
        "started.touch()\n"
        "ctypes.CDLL(None).pthread_exit(None)\n"
    )
    lock = tmp_path / "leader.lock"
    service = Service("jvm-like", tmp_path, lock)
    pid = service.start([sys.executable, "-c", script])
    wait_for(started.exists, "the main thread is about to end")
    wait_for(lambda: Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] == "Z", "leader")
    assert alive(pid) and service.pid() == pid and is_locked(lock)
    release.touch()
    wait_for(lambda: not service.is_running(), "the last thread ends")
    assert not is_locked(lock)
