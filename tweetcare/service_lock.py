"""The exclusive lock a background service holds for its whole life (`fcntl.flock`).

The starting CLI takes the lock, then hands its open lock file to the service it launches (an
inherited file descriptor, named in the service's environment so a supervisor can hand it on
to its job). The kernel releases an flock when the last process holding the file ends, however
it ends (kill -9 included), so the lock is never stale, and a second start of the same service
(or a second job on the same checkpoint) finds it held and is refused.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Self

# the inherited lock's descriptor number, in the environment of the service it was handed to
LOCK_FD_ENV = "TWEETCARE_SERVICE_LOCK_FD"


class ServiceLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another process holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def close(self) -> None:
        """Let go of this process's copy: a service that inherited the file keeps the lock.

        (Never `LOCK_UN`: that would release it for the service too.)"""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_locked(path: Path) -> bool:
    """Whether some process holds the lock on `path` now."""
    probe = ServiceLock(path)
    if not path.exists():
        return False
    with probe:
        return not probe.acquire()


def inherited_lock_fds() -> tuple[int, ...]:
    """The lock this process was started holding (see LOCK_FD_ENV), to hand on to a child."""
    value = os.environ.get(LOCK_FD_ENV, "")
    if not value.isdigit():
        return ()
    try:
        os.fstat(int(value))
    except OSError:
        return ()
    return (int(value),)
