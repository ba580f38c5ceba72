"""The agents who may sign in to the console: a YAML file of bcrypt-hashed passwords and roles.

The file has streamlit-authenticator's layout (`credentials.usernames.<name>` with `roles`, and
`cookie`), written by `tweetcare users add` with a fresh random cookie key; passwords never
touch the disk unhashed. The console keeps each agent's failed sign-ins there too
(`tweetcare.ui.throttle`). Every change is a read-modify-write under a file lock, then an atomic
rename, so `users add` and a sign-in at the same moment lose neither. Kept free of Streamlit
imports so the CLI stays light.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bcrypt
import yaml
from filelock import FileLock

from tweetcare.core.errors import UsageError, UserError
from tweetcare.ui.roles import DEFAULT_ROLE, check_role, role_of

COOKIE_NAME = "tweetcare_console"
COOKIE_EXPIRY_DAYS = 1.0
MIN_PASSWORD_LENGTH = 8
# bcrypt reads at most this many bytes of a password (and refuses a longer one)
MAX_PASSWORD_BYTES = 72
# the authenticator lower-cases what is typed; names are stored the same way
USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


def read_users(path: Path) -> dict[str, Any]:
    """The file's content; an empty config when it does not exist yet."""
    if not path.exists():
        return {"credentials": {"usernames": {}}, "cookie": {}}
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise UserError(f"cannot read the console users file {path}: {err}") from err
    if not isinstance(loaded, dict):
        raise UserError(f"the console users file {path} must hold a mapping")
    loaded.setdefault("credentials", {}).setdefault("usernames", {})
    loaded.setdefault("cookie", {})
    return loaded


def usernames(config: dict[str, Any]) -> list[str]:
    return sorted((config.get("credentials") or {}).get("usernames") or {})


def add_user(
    path: Path, username: str, password: str, name: str | None = None, role: str | None = None
) -> bool:
    """Add an agent or replace their password (which lifts a sign-in lockout); True when they
    are new. A new agent gets `role` or the default one; an existing one keeps theirs unless
    `role` is given. The file is made readable by its owner only."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise UsageError(
            f"{username!r} is not a usable name: lower-case letters, digits, '_', '.', '-'"
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UsageError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    size = len(password.encode())
    if size > MAX_PASSWORD_BYTES:
        raise UsageError(
            f"the password is {size} bytes in UTF-8; bcrypt takes at most {MAX_PASSWORD_BYTES}: "
            "choose a shorter one"
        )
    chosen = check_role(role) if role is not None else None
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()
    with _locked(path):
        config = read_users(path)
        people = config["credentials"]["usernames"]
        old = people.get(username)
        people[username] = {
            "name": name or (old or {}).get("name") or username,
            "password": hashed,
            "roles": [chosen or (role_of(old) if old else DEFAULT_ROLE)],
        }
        cookie = config["cookie"]
        cookie.setdefault("name", COOKIE_NAME)
        cookie.setdefault("key", secrets.token_hex(32))
        cookie.setdefault("expiry_days", COOKIE_EXPIRY_DAYS)
        write_users(path, config)
    return old is None


def remove_user(path: Path, username: str) -> None:
    """Take an agent out: they can no longer sign in (a session already open ends on its next
    page, which reads the file again)."""
    username = username.strip().lower()
    with _locked(path):
        config = read_users(path)
        if config["credentials"]["usernames"].pop(username, None) is None:
            raise UserError(f"no agent {username!r} in {path}")
        write_users(path, config)


def update_user(path: Path, username: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Apply `change` to one agent's entry, if they are still there, under the file's lock."""
    with _locked(path):
        config = read_users(path)
        entry = config["credentials"]["usernames"].get(username)
        if entry is None:
            return
        change(entry)
        write_users(path, config)


def write_users(path: Path, config: dict[str, Any]) -> None:
    """Replace the file at once (a temporary file renamed over it), readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        yaml.safe_dump(config, out, sort_keys=False)
    temporary.replace(path)


def _locked(path: Path) -> FileLock:
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(path.with_name(f".{path.name}.lock"))
