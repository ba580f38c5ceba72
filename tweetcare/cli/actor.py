"""Who acts, and on which version, for the CLI's audited agent actions (`replies approve|reject|
edit`, `tickets close`): the audit trail names `--user`, or the OS user who ran the command."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from tweetcare.core.errors import UsageError

UserOption = Annotated[
    str | None,
    typer.Option("--user", help="who acts, for the audit trail (default: the OS user)"),
]
ExpectVersionOption = Annotated[
    int | None,
    typer.Option(
        "--expect-version",
        help="the version you looked at (`--json` shows it): refused if it changed since",
    ),
]


def actor(user: str | None) -> str:
    """`--user`, else the OS user; a clear error when neither names anyone."""
    if user is not None and user.strip():
        return user.strip()
    try:
        name = getpass.getuser()
    except (OSError, KeyError) as err:
        raise UsageError("cannot tell who you are: pass --user NAME") from err
    if not name:
        raise UsageError("cannot tell who you are: pass --user NAME")
    return name
