"""Sign-in throttling: after `console_max_failed_sign_ins` failed sign-ins in a row an agent's
name is locked for `console_sign_in_lockout_seconds`, whichever browser the attempts come from.

The count lives in the agent's entry of the users file (`failed_sign_ins`, `locked_until`), not
in a browser session that an attacker can throw away. A locked name is handed to
streamlit-authenticator as one that has used up its `max_login_attempts`, so the library
refuses it before any password is checked; a successful sign-in clears the count, and so does
a new password (`tweetcare users add`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tweetcare.core.settings import Settings

FAILED = "failed_sign_ins"
LOCKED_UNTIL = "locked_until"
# streamlit-authenticator's own count, per browser session: we set it from ours before a sign-in
LIBRARY_COUNT = "failed_login_attempts"


@dataclass(frozen=True)
class SignInLimits:
    max_failures: int
    lockout: timedelta

    @classmethod
    def of(cls, settings: Settings) -> SignInLimits:
        return cls(
            settings.console_max_failed_sign_ins,
            timedelta(seconds=settings.console_sign_in_lockout_seconds),
        )


def locked_until(entry: dict[str, Any], now: datetime) -> datetime | None:
    """When the agent's lockout ends; None when they are not locked out."""
    raw = entry.get(LOCKED_UNTIL)
    if not raw:
        return None
    until = datetime.fromisoformat(str(raw))
    until = until if until.tzinfo else until.replace(tzinfo=UTC)
    return until if until > now else None


def record_failure(entry: dict[str, Any], now: datetime, limits: SignInLimits) -> None:
    """One more failed sign-in; the one that reaches the limit starts a lockout. A lockout that
    has run out starts the count again."""
    if entry.get(LOCKED_UNTIL) and locked_until(entry, now) is None:
        clear(entry)
    entry[FAILED] = int(entry.get(FAILED) or 0) + 1
    if entry[FAILED] >= limits.max_failures:
        entry[LOCKED_UNTIL] = (now + limits.lockout).isoformat()


def clear(entry: dict[str, Any]) -> None:
    entry.pop(FAILED, None)
    entry.pop(LOCKED_UNTIL, None)


def arm_library(people: dict[str, dict[str, Any]], now: datetime, limits: SignInLimits) -> set[str]:
    """Hand the library each agent's state: a locked one has used up every attempt, the others
    none (we count, the library only reports each failure). The locked agents."""
    locked = {name for name, entry in people.items() if locked_until(entry, now) is not None}
    for name, entry in people.items():
        entry[LIBRARY_COUNT] = limits.max_failures if name in locked else 0
    return locked


def failed_now(people: dict[str, dict[str, Any]], locked: set[str]) -> list[str]:
    """The agents whose password the library found wrong since `arm_library`."""
    return [
        name
        for name, entry in people.items()
        if name not in locked and int(entry.get(LIBRARY_COUNT) or 0) > 0
    ]
