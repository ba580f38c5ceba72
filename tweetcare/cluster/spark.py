"""A Spark standalone cluster: one master and two workers (1 core, 1 GB each), started with the
launcher classes of the installed pyspark (`bin/spark-class`, SPARK_HOME = the pyspark folder).
Jobs reach it with `--master spark://127.0.0.1:<port>`; executors run the venv's Python."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from tweetcare.cluster.layout import HOST, SPARK_WORKERS, Layout
from tweetcare.process import Service, ServiceError

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
WORKER_CORES = 1
WORKER_MEMORY = "1g"
DAEMON_MEMORY = "384m"
READY_TIMEOUT_S = 120.0


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def master_service(layout: Layout) -> Service:
    return Service("spark-master", layout.root)


def worker_service(layout: Layout, worker: int) -> Service:
    return Service(f"spark-worker-{worker}", layout.root)


def workers() -> range:
    return range(1, SPARK_WORKERS + 1)


def env(layout: Layout) -> dict[str, str]:
    return {
        "SPARK_HOME": str(spark_home()),
        "SPARK_LOCAL_IP": HOST,
        "SPARK_DAEMON_MEMORY": DAEMON_MEMORY,
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_LOG_DIR": str(layout.logs),
    }


def start(layout: Layout) -> None:
    """The master, then both workers; returns once both are registered ALIVE."""
    master = master_service(layout)
    if not master.is_running():
        master.start(
            [
                *_spark_class(),
                MASTER_CLASS,
                "--host",
                HOST,
                "--port",
                str(layout.ports.spark_master),
                "--webui-port",
                str(layout.ports.spark_master_ui),
            ],
            env=env(layout),
            cwd=layout.root,
        )
    master.wait_until(lambda: master_state(layout) is not None, READY_TIMEOUT_S, "answering")
    for worker in workers():
        start_worker(layout, worker, wait=False)
    wait_for_workers(layout, len(workers()))


def start_worker(layout: Layout, worker: int, wait: bool = True) -> None:
    svc = worker_service(layout, worker)
    if not svc.is_running():
        work_dir = layout.root / f"spark-worker-{worker}"
        work_dir.mkdir(parents=True, exist_ok=True)
        svc.start(
            [
                *_spark_class(),
                WORKER_CLASS,
                "--host",
                HOST,
                "--cores",
                str(WORKER_CORES),
                "--memory",
                WORKER_MEMORY,
                "--work-dir",
                str(work_dir),
                "--webui-port",
                str(layout.ports.spark_worker_uis[worker - 1]),
                layout.spark_master_url,
            ],
            env=env(layout),
            cwd=layout.root,
        )
    if wait:
        wait_for_workers(layout, len(workers()))


def stop_worker(layout: Layout, worker: int, kill: bool = False) -> bool:
    """Stop one worker and the executors it runs; `kill` is a crash (SIGKILL to its group)."""
    svc = worker_service(layout, worker)
    pid = svc.pid()
    if pid is None:
        return False
    if not kill:
        return svc.stop()
    os.killpg(pid, signal.SIGKILL)
    while svc.is_running():
        time.sleep(0.1)
    return True


def stop(layout: Layout) -> bool:
    stopped = [stop_worker(layout, worker) for worker in workers()]
    return master_service(layout).stop() or any(stopped)


def master_state(layout: Layout) -> dict[str, Any] | None:
    """The master's own JSON view (workers, applications), None when it does not answer."""
    url = f"http://{HOST}:{layout.ports.spark_master_ui}/json/"
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            return json.loads(answer.read())
    except (OSError, ValueError):
        return None


def alive_workers(layout: Layout) -> int:
    state = master_state(layout) or {}
    return sum(w.get("state") == "ALIVE" for w in state.get("workers", []))


def wait_for_workers(layout: Layout, count: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while alive_workers(layout) < count:
        if time.monotonic() > deadline:
            raise ServiceError(
                f"{count} Spark workers not alive after {READY_TIMEOUT_S:.0f}s; "
                f"logs in {layout.logs}"
            )
        time.sleep(1.0)


def _spark_class() -> list[str]:
    return ["bash", str(spark_home() / "bin" / "spark-class")]
