"""Which process a pid is: its pid, its start time and the boot it started in.

A pid alone names a process only while that process lives: after it ends, or after a reboot,
the number is handed to someone else. A pid file that also records the start time (clock ticks
after boot, from /proc/<pid>/stat) and the kernel's boot id lets `stop` and `status` tell the
process they started from a stranger that got the same number, and leave the stranger alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")
# /proc/<pid>/stat's fields after the command name: state is field 3, starttime field 22
_STATE_FIELD = 0
_START_FIELD = 22 - 3


@dataclass(frozen=True)
class ProcessIdentity:
    pid: int
    started: int  # clock ticks after boot
    boot_id: str

    def as_dict(self) -> dict[str, int | str]:
        return {"pid": self.pid, "started": self.started, "boot_id": self.boot_id}

    @classmethod
    def from_dict(cls, value: object) -> ProcessIdentity | None:
        """The identity a pid file or state file recorded; None for anything else."""
        if not isinstance(value, dict):
            return None
        pid, started, boot_id = value.get("pid"), value.get("started"), value.get("boot_id")
        if not (isinstance(pid, int) and isinstance(started, int) and isinstance(boot_id, str)):
            return None
        return cls(pid, started, boot_id)

    def is_running(self) -> bool:
        """Whether this very process still runs (not a zombie, not another one with its pid)."""
        return identity_of(self.pid) == self

    def same_boot(self) -> bool:
        return self.boot_id == boot_id()


def boot_id() -> str:
    return BOOT_ID_FILE.read_text().strip()


def _stat_fields(pid: int) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # the command name, in parentheses, may itself hold spaces and parentheses
    return stat[stat.rindex(")") + 2 :].split()


def _running(pid: int, fields: list[str]) -> bool:
    """Not a zombie, or a zombie leader whose other threads still run: a JVM shutting down ends
    its main thread first, and holds its files (its lock) until its last thread ends."""
    if fields[_STATE_FIELD] != "Z":
        return True
    try:
        return len(os.listdir(f"/proc/{pid}/task")) > 1
    except OSError:
        return False


def identity_of(pid: int) -> ProcessIdentity | None:
    """The identity of the live process `pid`; None when there is none (a zombie counts)."""
    fields = _stat_fields(pid)
    if fields is None or not _running(pid, fields):
        return None
    return ProcessIdentity(pid, int(fields[_START_FIELD]), boot_id())


def alive(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = _stat_fields(pid)
    return fields is not None and _running(pid, fields)
