"""Background services (Kafka broker, BentoML server, Spark job) as pid-file managed processes.

Each service gets ``<state>/<name>.pid`` and ``<state>/logs/<name>.log`` so that `start` is
idempotent across CLI calls and `stop` is clean even from another shell. The pid file records
the process's identity (pid, start time, boot), so `stop` and `status` never signal a stranger
that was given the same pid later; and the service holds an exclusive lock (``<name>.lock``, or
one its caller places, e.g. beside a checkpoint) for its whole life, so two starts racing each
other, or two services sharing one lock, cannot both run: the second is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tweetcare.core import atomic
from tweetcare.core.pids import ProcessIdentity, alive, boot_id, identity_of
from tweetcare.service_lock import LOCK_FD_ENV, ServiceLock

Launch = Callable[..., int]


class ServiceError(RuntimeError):
    """A service failed to start or stop; the message says which and where its log is."""


@dataclass(frozen=True)
class Service:
    name: str
    state_dir: Path
    # where the service's lock lives; None: <state_dir>/<name>.lock
    lock_path: Path | None = None

    @property
    def pid_file(self) -> Path:
        return self.state_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "logs" / f"{self.name}.log"

    @property
    def lock_file(self) -> Path:
        return self.lock_path or self.state_dir / f"{self.name}.lock"

    def recorded(self) -> ProcessIdentity | None:
        """The identity the pid file records; None without one (or an old pid-only file)."""
        try:
            return ProcessIdentity.from_dict(json.loads(self.pid_file.read_text()))
        except (FileNotFoundError, ValueError):
            return None

    def pid(self) -> int | None:
        """The live pid of the service, or None (a stale pid file is removed).

        Live means the very process the pid file recorded: a pid now used by another process
        (a reboot, a long time) is not the service, and it and its group are left alone."""
        if not self.pid_file.exists():
            return None
        recorded = self.recorded()
        if recorded is not None and recorded.is_running():
            return recorded.pid
        if recorded is not None and recorded.same_boot() and not alive(recorded.pid):
            # the leader died on its own (e.g. a server whose model failed to load): its workers
            # would live on as orphans in its process group, so they go with it (while they live
            # the kernel hands their group's number to no one else)
            _signal_group(recorded.pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return None

    def is_running(self) -> bool:
        return self.pid() is not None

    def start(
        self,
        command: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> int:
        """Start the command detached (own process group) unless it already runs."""
        running = self.pid()
        if running is not None:
            return running
        with self.starting() as launch:
            return launch(command, env=env, cwd=cwd)

    @contextlib.contextmanager
    def starting(self) -> Iterator[Launch]:
        """Hold the service's lock while it is prepared and launched; yields `launch(command,
        env=, cwd=)`, which hands the lock to the process it starts.

        ServiceError (one line) when another process holds the lock: the service runs, or is
        being started, from elsewhere."""
        lock = ServiceLock(self.lock_file)
        if not lock.acquire():
            raise ServiceError(
                f"{self.name} is already running or being started by another process "
                f"({self.lock_file} is locked); stop that one first"
            )
        try:
            yield lambda command, env=None, cwd=None: self._launch(lock, command, env, cwd)
        finally:
            lock.close()

    def _launch(
        self,
        lock: ServiceLock,
        command: Sequence[str],
        env: Mapping[str, str] | None,
        cwd: Path | None,
    ) -> int:
        if lock.fd is None:
            raise ServiceError(f"{self.name}: launched without holding {self.lock_file}")
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            proc = subprocess.Popen(
                list(command),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {}), LOCK_FD_ENV: str(lock.fd)},
                cwd=cwd,
                start_new_session=True,
                pass_fds=(lock.fd,),
            )
        # one that died already gets an identity no process has: it reads as not running
        identity = identity_of(proc.pid) or ProcessIdentity(proc.pid, -1, boot_id())
        atomic.write_text(self.pid_file, json.dumps(identity.as_dict()))
        return proc.pid

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM the process group, SIGKILL it after `timeout`; True if something was stopped."""
        pid = self.pid()
        if pid is None:
            return False
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.2)
        if alive(pid):
            _signal_group(pid, signal.SIGKILL)
            while alive(pid):
                time.sleep(0.1)
        self.pid_file.unlink(missing_ok=True)
        return True

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log yet)"

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll `ready` until it holds; fail with the log tail if the process dies or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if not self.is_running():
                raise ServiceError(
                    f"{self.name} exited before {what}; last lines of {self.log_file}:\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.5)
        raise ServiceError(
            f"{self.name} not {what} after {timeout:.0f}s; last lines of {self.log_file}:\n"
            f"{self.log_tail()}"
        )


def port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def stop_group(pid: int, timeout: float = 30.0) -> None:
    """SIGTERM the process group led by `pid`, SIGKILL it after `timeout`."""
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.2)
    _signal_group(pid, signal.SIGKILL)


def stop_process(identity: ProcessIdentity, timeout: float = 30.0) -> bool:
    """`stop_group` for the process `identity` names, only if that very process still runs."""
    if not identity.is_running():
        return False
    stop_group(identity.pid, timeout)
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
