"""Errors that carry a message meant for the user, shown without a traceback."""

from __future__ import annotations

from pydantic import ValidationError


class UserError(Exception):
    """Bad input or a missing prerequisite: the message says what and how to fix it."""


def describe_validation(err: ValidationError, whole: str = "file") -> str:
    """Each problem as `dotted.key: message`, the way a person edits the file or the message;
    a problem with the whole value is named `whole`."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or whole}: {e['msg']}" for e in err.errors()
    )
