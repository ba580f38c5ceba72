"""The agents who may sign in to the console: a YAML file of bcrypt-hashed passwords.

The file has streamlit-authenticator's layout (`credentials.usernames.<name>` and `cookie`),
written by `tweetcare users add` with a fresh random cookie key; passwords never touch the disk
unhashed. Kept free of Streamlit imports so the CLI stays light.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from tweetcare.core.errors import UserError

COOKIE_NAME = "tweetcare_console"
COOKIE_EXPIRY_DAYS = 1.0
MIN_PASSWORD_LENGTH = 8
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


def add_user(path: Path, username: str, password: str, name: str | None = None) -> bool:
    """Add an agent or replace their password; True when they are new. The file is made
    readable by its owner only."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise UserError(
            f"{username!r} is not a usable name: lower-case letters, digits, '_', '.', '-'"
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    config = read_users(path)
    people = config["credentials"]["usernames"]
    new = username not in people
    people[username] = {
        "name": name or username,
        "password": bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode(),
    }
    cookie = config["cookie"]
    cookie.setdefault("name", COOKIE_NAME)
    cookie.setdefault("key", secrets.token_hex(32))
    cookie.setdefault("expiry_days", COOKIE_EXPIRY_DAYS)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        yaml.safe_dump(config, out, sort_keys=False)
    temporary.replace(path)
    return new
