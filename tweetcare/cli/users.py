"""`tweetcare users add|remove|list`: the agents who may sign in to the console, and their roles."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from tweetcare.cli.json_output import print_records
from tweetcare.core.errors import UsageError
from tweetcare.core.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="Agents who may sign in to the console.")


@app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="the sign-in name (lower case)")],
    name: Annotated[str | None, typer.Option(help="the name shown in the console")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
    role: Annotated[
        str | None,
        typer.Option(help="agent, lead or admin (a new agent: agent; else unchanged)"),
    ] = None,
) -> None:
    """Add an agent (or set a new password, which also lifts a sign-in lockout) in
    TWEETCARE_CONSOLE_USERS_FILE; only a bcrypt hash of the password is stored."""
    from tweetcare.ui.roles import check_role
    from tweetcare.ui.users import add_user

    if role is not None:
        check_role(role)  # before asking for a password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        raise UsageError("no terminal to ask the password on: pipe it in with --password-stdin")
    path = get_settings().console_users_file
    new = add_user(path, username, password, name, role)
    verb = "added" if new else "updated the password of"
    Console().print(f"{verb} {username.strip().lower()} in {path}", highlight=False)


@app.command("remove")
def remove(username: Annotated[str, typer.Argument(help="the sign-in name")]) -> None:
    """Take an agent out of TWEETCARE_CONSOLE_USERS_FILE: they can no longer sign in."""
    from tweetcare.ui.users import remove_user

    path = get_settings().console_users_file
    remove_user(path, username)
    Console().print(f"removed {username.strip().lower()} from {path}", highlight=False)


@app.command("list")
def list_users(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per agent")] = False,
) -> None:
    """The agents who may sign in, with their roles."""
    from tweetcare.ui.roles import role_of
    from tweetcare.ui.users import read_users, usernames

    path = get_settings().console_users_file
    config = read_users(path)
    people = config["credentials"]["usernames"]
    names = usernames(config)
    if as_json:
        print_records({"username": n, "role": role_of(people[n])} for n in names)
    elif names:
        Console().print("\n".join(f"{n} ({role_of(people[n])})" for n in names), highlight=False)
    else:
        Console().print(f"no agents in {path}: add one with `tweetcare users add NAME`")
