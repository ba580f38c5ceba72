"""Peak memory and CPU seconds of the stream benchmark's process trees, sampled once a second.

The trees are the job's (its JVM: driver and, in local mode, executors; its Python: driver and
Arrow workers), on a cluster each Spark worker's (its executors' JVMs and Python workers), and
the model server's. A tree's peak is the largest sum of its processes' resident memory seen at
one sample, so short-lived workers count while they live; beside it, its largest one process.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

import psutil

PidOf = Callable[[], int | None]


def kind_of(process: psutil.Process) -> str:
    """ "jvm" for a Java process, "python" for the rest (the stream's trees hold nothing else)."""
    return "jvm" if "java" in process.name() else "python"


class ProcessSampler:
    """Peak RSS and CPU seconds per process tree. CPU time is the sum over every process seen of
    its last cumulative reading, so a Python worker that exits between two samples loses at most
    a second of its time."""

    def __init__(
        self,
        job_pid: PidOf,
        server_pid: PidOf,
        workers: dict[str, PidOf] | None = None,
        interval_s: float = 1.0,
    ) -> None:
        # on a cluster the executors run under the workers' process trees, not the job's
        self.pids = {"job": job_pid, "server": server_pid, **(workers or {})}
        self.interval_s = interval_s
        # the job's own peaks, JVM and Python (bytes)
        self.jvm = 0
        self.python = 0
        # per "job jvm", "job python", "server", "executors 1 jvm", ...: the largest sum of
        # the group's RSS at one sample, and the largest one process in it (bytes)
        self.peaks: dict[str, int] = {}
        self.largest: dict[str, int] = {}
        self._cpu: dict[tuple[str, int], tuple[str, float]] = {}
        self._start: dict[str, float] = {}
        self._stop = threading.Event()
        self._sample()
        self._start = self.cpu_seconds()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def _sample(self) -> None:
        for tree, pid_of in self.pids.items():
            pid = pid_of()
            if pid is None:
                continue
            with contextlib.suppress(psutil.Error):
                root = psutil.Process(pid)
                rss: dict[str, int] = {}
                for proc in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        kind = kind_of(proc)
                        times = proc.cpu_times()
                        key = f"{tree.split()[0]} {kind}" if tree != "server" else tree
                        self._cpu[(tree, proc.pid)] = (key, times.user + times.system)
                        group = f"{tree} {kind}" if tree != "server" else tree
                        size = proc.memory_info().rss
                        rss[group] = rss.get(group, 0) + size
                        self.largest[group] = max(self.largest.get(group, 0), size)
                for group, total in rss.items():
                    self.peaks[group] = max(self.peaks.get(group, 0), total)
                if tree == "job":
                    self.jvm = max(self.jvm, rss.get("job jvm", 0))
                    self.python = max(self.python, rss.get("job python", 0))

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used since the sampler started, per "job jvm", "job python", "server"."""
        totals: dict[str, float] = {}
        for key, seconds in self._cpu.values():
            totals[key] = totals.get(key, 0.0) + seconds
        return {k: v - self._start.get(k, 0.0) for k, v in totals.items()}

    def peaks_mb(self) -> dict[str, tuple[float, float]]:
        """Per group: (peak RSS of the group, of its largest one process), in MiB."""
        return {
            group: (total / 2**20, self.largest[group] / 2**20)
            for group, total in sorted(self.peaks.items())
        }

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
