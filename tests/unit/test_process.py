"""Background services managed by pid file: nothing they started outlives them."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tweetcare.process import Service


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a killed child of this test process lingers as a zombie until reaped
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


def test_workers_of_a_leader_that_died_on_its_own_are_stopped(tmp_path: Path) -> None:
    service = Service("demo", tmp_path)
    worker_file = tmp_path / "worker.pid"
    # the leader starts a long-lived worker in its process group, then exits by itself
    service.start(["sh", "-c", f"sleep 60 & echo $! > {worker_file}; sleep 0.5"])
    deadline = time.monotonic() + 10
    while not worker_file.exists() or not worker_file.read_text().strip():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    worker = int(worker_file.read_text())
    while service.is_running():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(0.2)
    assert not _alive(worker)
