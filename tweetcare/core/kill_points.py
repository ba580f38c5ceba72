"""Pinned crash points for the fault tests: a process kills itself (SIGKILL) where a crash hurts.

`TWEETCARE_TEST_KILL_AT=poster.after_x_accept` makes a process die at that point the way a power
cut or the OOM killer would: no `finally`, no flush, no rollback. With `TWEETCARE_TEST_KILL_ONCE`
naming a file, only the first process to reach the point dies (it creates the file first), so a
restarted one with the same environment, as a supervisor starts it, goes past. Unset, a point
costs one environment lookup.
"""

from __future__ import annotations

import os
import signal

KILL_AT_ENV = "TWEETCARE_TEST_KILL_AT"
KILL_ONCE_ENV = "TWEETCARE_TEST_KILL_ONCE"

# the points the code names (tests pin them by these names)
POSTER_AFTER_X_ACCEPT = "poster.after_x_accept"
TICKETS_AFTER_UPSERT = "tickets.after_upsert"


def kill_point(name: str) -> None:
    """Die here by SIGKILL when the environment pins `name`; otherwise do nothing."""
    pinned = os.environ.get(KILL_AT_ENV)
    if not pinned or name not in pinned.split(","):
        return
    once = os.environ.get(KILL_ONCE_ENV)
    if once:
        try:
            os.close(os.open(once, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            return  # an earlier process died here already
    os.kill(os.getpid(), signal.SIGKILL)
