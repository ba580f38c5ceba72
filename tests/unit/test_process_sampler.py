"""The stream benchmark's sampler: peak memory per process group, a child's memory counted in
its tree's, the largest process beside the sum, and a tree that is gone skipped."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from benchmarks.process_sampler import ProcessSampler

MIB = 2**20
# the child holds this much memory, touched so that it is resident
HELD_MB = 200
HOLDER = (
    f"import sys; block = bytearray({HELD_MB} * {MIB}); block[::4096] = b'x' * len(block[::4096]);"
    "print('ready', flush=True); sys.stdin.read()"
)
# a parent that starts the holder and waits on it, passing its "ready" on
PARENT = (
    "import subprocess, sys;"
    f"child = subprocess.Popen([sys.executable, '-c', {HOLDER!r}], stdin=sys.stdin);"
    "child.wait()"
)


@pytest.fixture
def tree() -> Iterator[subprocess.Popen[str]]:
    """A Python process whose child holds HELD_MB until stdin closes."""
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None and parent.stdout.readline().strip() == "ready"
    yield parent
    assert parent.stdin is not None
    parent.stdin.close()
    parent.wait()


def test_a_childs_memory_counts_in_its_trees_peak_beside_the_largest_process(tree) -> None:
    sampler = ProcessSampler(job_pid=lambda: tree.pid, server_pid=lambda: None)
    sampler.stop()
    total, largest = sampler.peaks_mb()["job python"]
    assert largest >= HELD_MB  # the holder alone
    assert total >= largest + 1  # plus its parent's interpreter
    assert sampler.python == sampler.peaks["job python"]
    assert sampler.jvm == 0 and "server" not in sampler.peaks  # no JVM, no server pid


def test_the_peak_outlives_the_process_and_a_missing_tree_is_skipped(tree) -> None:
    pid = {"server": tree.pid}
    sampler = ProcessSampler(job_pid=lambda: None, server_pid=lambda: pid["server"])
    assert tree.stdin is not None
    tree.stdin.close()
    tree.wait()
    pid["server"] = None  # the server stopped: later samples find no tree
    sampler.stop()
    total, largest = sampler.peaks_mb()["server"]
    assert largest >= HELD_MB and total >= largest
    assert set(sampler.peaks) == {"server"}
