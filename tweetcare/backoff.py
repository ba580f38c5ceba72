"""Bounded exponential backoff for waiting out an outage (model server, broker, ticket store).

One small loop shared by every client, so each outage is waited out the same way: the pause
doubles from `first_s` up to `max_s`, every wait is logged with its attempt number, and after
`total_s` of waiting the last error is raised so that a supervisor can take over.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tweetcare.core.redact import redact

T = TypeVar("T")

log = logging.getLogger("tweetcare.backoff")


@dataclass(frozen=True)
class Backoff:
    """How long to keep trying: `total_s` of waiting in all, pauses from `first_s` to `max_s`."""

    total_s: float = 300.0
    first_s: float = 0.5
    max_s: float = 15.0

    def pauses(self) -> list[float]:
        """The pauses between attempts; their sum is at most `total_s`."""
        out: list[float] = []
        left, pause = self.total_s, self.first_s
        while left > 0 and pause > 0:
            step = min(pause, self.max_s, left)
            out.append(step)
            left -= step
            pause *= 2
        return out


def retry(
    action: Callable[[], T],
    transient: Callable[[Exception], bool],
    backoff: Backoff,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `action`; while it fails with a transient error, wait and try again (bounded).

    A non-transient error is raised at once; a transient one still failing after the last pause
    is raised as it is, with the outage logged on the way.
    """
    pauses = backoff.pauses()
    for attempt in range(len(pauses) + 1):
        try:
            result = action()
        except Exception as err:
            if not transient(err) or attempt == len(pauses):
                if attempt:
                    log.error("%s: giving up after %d attempts: %s", what, attempt + 1, _brief(err))
                raise
            log.warning(
                "%s unavailable (attempt %d, waiting %.1fs): %s",
                what,
                attempt + 1,
                pauses[attempt],
                _brief(err),
            )
            sleep(pauses[attempt])
            continue
        if attempt:
            log.info("%s is back after %d attempts", what, attempt + 1)
        return result
    raise AssertionError("unreachable")  # pragma: no cover


def _brief(err: Exception) -> str:
    """One line for the log, a URL's password masked (a driver's error may quote its DSN)."""
    text = redact(" ".join(str(err).split()))
    return f"{type(err).__name__}: {text[:200]}"
