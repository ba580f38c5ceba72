"""Keeps one command running: restarts it with bounded exponential backoff when it dies.

`tweetcare stream start` runs this in the background around `spark-submit`:
``python -m tweetcare.supervisor --state-file F --stop-file S -- spark-submit ...``.
The job runs in its own process group (so killing the job is not killing its keeper); each
restart waits longer (doubling from `--first-pause` up to `--max-pause`), and a run that stayed
up for `--healthy-after` seconds resets the pause. Exit code 2 from the job means it cannot start
at all (bad configuration): restarting cannot help, so the supervisor stops too; so it does after
`--max-failures` short runs in a row (a crash loop), with the state `failed` and the reason. SIGTERM, SIGINT
or the stop file end supervision: the job is asked to stop (SIGTERM), then killed after a grace
period. The state file (JSON, replaced atomically) tells `tweetcare stream status` what is going
on: the job's pid and identity (start time and boot, so no one signals a stranger given the same
pid later), restarts so far, the last exit and when the next start is due. A service lock the
supervisor was started holding (tweetcare/service_lock.py) is handed on to each job it starts,
so a job that outlives a killed supervisor still holds its checkpoint against a second job.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from tweetcare.core.pids import ProcessIdentity, identity_of
from tweetcare.core.redact import redact_command
from tweetcare.service_lock import inherited_lock_fds

# the job's exit code for "cannot start: fix the configuration"
FATAL_EXIT_CODE = 2
FIRST_PAUSE_S = 2.0
MAX_PAUSE_S = 60.0
HEALTHY_AFTER_S = 120.0
# short runs in a row after which the supervisor gives up (0: never)
MAX_FAILURES = 30
STOP_GRACE_S = 60.0
POLL_S = 0.5

log = logging.getLogger("tweetcare.supervisor")


def read_state(path: Path) -> dict[str, Any]:
    """The supervisor's last written state; empty when it never ran."""
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


def running_job(state: dict[str, Any]) -> ProcessIdentity | None:
    """The job a state names, if that very process still runs (not a stranger with its pid)."""
    identity = ProcessIdentity.from_dict(state.get("job_identity"))
    return identity if identity is not None and identity.is_running() else None


def write_json(path: Path, value: dict[str, Any]) -> None:
    """Replace `path` atomically, so a reader never sees half a file."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(value, indent=1))
    partial.replace(path)


class Supervisor:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.stopping = False
        self.child: subprocess.Popen[bytes] | None = None
        self.state: dict[str, Any] = {
            "pid": os.getpid(),
            # as it may be shown: a secret on the job's command line is masked
            "command": redact_command(args.command),
            "job_pid": None,
            "job_identity": None,
            "state": "starting",
            "restarts": 0,
            "started_at": None,
            "last_exit_code": None,
            "last_exit_at": None,
            "last_error": None,
            "next_start_at": None,
        }

    def stop_requested(self) -> bool:
        return self.stopping or bool(self.args.stop_file and self.args.stop_file.exists())

    def save(self, **changes: Any) -> None:
        self.state.update(changes)
        write_json(self.args.state_file, self.state)

    def run(self) -> int:
        failures = 0
        while not self.stop_requested():
            started = time.monotonic()
            code = self._run_once()
            if self.stop_requested():
                break
            ran_s = time.monotonic() - started
            error = f"the job exited with code {code} after {ran_s:.0f}s"
            self.save(
                job_pid=None,
                job_identity=None,
                last_exit_code=code,
                last_exit_at=_now(),
                last_error=error,
            )
            if code == FATAL_EXIT_CODE:
                log.error("%s: it cannot start as configured; not restarting it", error)
                self.save(state="failed")
                return code
            failures = 1 if ran_s >= self.args.healthy_after else failures + 1
            if self.args.max_failures and failures >= self.args.max_failures:
                log.error("%s: %d failed runs in a row; not restarting it", error, failures)
                self.save(
                    state="failed",
                    last_error=f"{error}; gave up after {failures} failed runs in a row",
                )
                return 1
            pause = min(self.args.first_pause * 2 ** (failures - 1), self.args.max_pause)
            log.warning("%s; restart %d in %.1fs", error, self.state["restarts"] + 1, pause)
            self.save(
                state="waiting",
                next_start_at=datetime.fromtimestamp(time.time() + pause, UTC).isoformat(),
            )
            self._sleep(pause)
            if not self.stop_requested():
                self.save(restarts=self.state["restarts"] + 1)
        self._stop_child()
        self.save(state="stopped", job_pid=None, job_identity=None, next_start_at=None)
        log.info("supervision ended")
        return 0

    def _run_once(self) -> int:
        """Start the job and wait for it to end (or for a stop request)."""
        self.child = subprocess.Popen(
            self.args.command, start_new_session=True, pass_fds=inherited_lock_fds()
        )
        identity = identity_of(self.child.pid)
        self.save(
            state="running",
            job_pid=self.child.pid,
            job_identity=identity.as_dict() if identity else None,
            started_at=_now(),
            next_start_at=None,
        )
        shown = " ".join(self.state["command"])
        log.info("started the job (pid %d): %s", self.child.pid, shown)
        while self.child.poll() is None:
            if self.stop_requested():
                self._stop_child()
                break
            time.sleep(POLL_S)
        code = self.child.wait()
        self.child = None
        return code

    def _stop_child(self) -> None:
        """Ask the job to stop between two batches (the stop file it watches), then SIGTERM its
        group, then SIGKILL it, each after a grace period."""
        child = self.child
        if child is None or child.poll() is not None:
            return
        if self.args.stop_file is not None:
            self.args.stop_file.touch()
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig is not None:
                log.warning("the job has not stopped; sending %s", sig.name)
                _signal_group(child.pid, sig)
            try:
                child.wait(timeout=self.args.stop_grace)
                break
            except subprocess.TimeoutExpired:
                continue
        # its workers (python daemons of Spark) may outlive the leader in its group
        _signal_group(child.pid, signal.SIGKILL)

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.stop_requested():
            time.sleep(min(POLL_S, max(deadline - time.monotonic(), 0)))


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-file", type=Path, required=True)
    parser.add_argument("--stop-file", type=Path)
    parser.add_argument("--first-pause", type=float, default=FIRST_PAUSE_S)
    parser.add_argument("--max-pause", type=float, default=MAX_PAUSE_S)
    parser.add_argument("--healthy-after", type=float, default=HEALTHY_AFTER_S)
    parser.add_argument("--max-failures", type=int, default=MAX_FAILURES)
    parser.add_argument("--stop-grace", type=float, default=STOP_GRACE_S)
    parser.add_argument("command", nargs="+", help="the job's command line, after --")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s supervisor: %(message)s"
    )
    supervisor = Supervisor(parse_args(argv))

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        supervisor.stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    return supervisor.run()


if __name__ == "__main__":
    raise SystemExit(main())
