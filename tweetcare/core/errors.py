"""Errors that carry a message meant for the user, shown without a traceback."""

from __future__ import annotations

from pydantic import ValidationError


class UserError(Exception):
    """A failure the user can act on (no such ticket, a service down, a missing prerequisite):
    the message says what and how to fix it; the CLI exits 1."""


class UsageError(UserError):
    """The command was called wrong (a bad option value, argument or input file): fixing the
    command line fixes it, so the CLI exits 2 as it does for click's own usage errors."""


def describe_validation(err: ValidationError, whole: str = "file") -> str:
    """Each problem as `dotted.key: message`, the way a person edits the file or the message;
    a problem with the whole value is named `whole`."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or whole}: {e['msg']}" for e in err.errors()
    )
