"""The console's agents: roles, `users remove`, sign-in lockout after repeated failures, and a
clear error for a password bcrypt cannot take."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.unit.test_ui_auth import PASSWORD, console_env, queues_view, whole_app
from tweetcare import cli
from tweetcare.core.errors import UserError
from tweetcare.tickets import TicketStore
from tweetcare.tickets.models import DRAFTED
from tweetcare.ui.users import add_user, read_users

__all__ = ["console_env"]  # the fixture, used by name


def run_cli(monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str = "") -> int:
    monkeypatch.setattr(sys, "argv", ["tweetcare", *args])
    monkeypatch.setattr(sys, "stdin", StringIO(stdin))
    return cli.main()


def test_a_password_over_72_bytes_is_a_clear_error_not_a_bcrypt_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "users.yaml"
    with pytest.raises(UserError, match="73 bytes in UTF-8; bcrypt takes at most 72"):
        add_user(path, "alice", "x" * 73)
    with pytest.raises(UserError, match="74 bytes"):
        add_user(path, "alice", "é" * 37)  # 37 characters, 74 bytes
    assert add_user(path, "alice", "x" * 72)
    monkeypatch.setenv("TWEETCARE_CONSOLE_USERS_FILE", str(path))
    assert run_cli(monkeypatch, "users", "add", "bob", "--password-stdin", stdin="y" * 73) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bcrypt takes at most 72" in err
    assert "bob" not in read_users(path)["credentials"]["usernames"]


def test_roles_are_set_listed_kept_and_agents_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "users.yaml"
    monkeypatch.setenv("TWEETCARE_CONSOLE_USERS_FILE", str(path))
    add = ["users", "add", "--password-stdin"]
    assert run_cli(monkeypatch, *add, "alice", stdin=PASSWORD) == 0
    assert run_cli(monkeypatch, *add, "bob", "--role", "lead", stdin=PASSWORD) == 0
    assert run_cli(monkeypatch, *add, "bob", stdin=PASSWORD + "!") == 0  # new password only
    capsys.readouterr()
    assert run_cli(monkeypatch, "users", "list", "--json") == 0
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == [
        {"username": "alice", "role": "agent"},
        {"username": "bob", "role": "lead"},
    ]
    assert run_cli(monkeypatch, *add, "carol", "--role", "boss", stdin=PASSWORD) == 2
    assert "unknown role 'boss'; one of: agent, lead, admin" in capsys.readouterr().err

    assert run_cli(monkeypatch, "users", "remove", "Alice") == 0
    assert sorted(read_users(path)["credentials"]["usernames"]) == ["bob"]
    capsys.readouterr()
    assert run_cli(monkeypatch, "users", "remove", "alice") == 1  # no such agent: not usage
    assert "no agent 'alice'" in capsys.readouterr().err


def sign_in(app: AppTest, username: str, password: str) -> AppTest:
    app.text_input[0].input(username)
    app.text_input[1].input(password)
    return app.button[0].click().run()


def test_repeated_failed_sign_ins_lock_the_name_in_every_browser(
    console_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWEETCARE_CONSOLE_MAX_FAILED_SIGN_INS", "2")
    add_user(console_env, "alice", PASSWORD)
    first = whole_app().run()
    for _ in range(2):
        sign_in(first, "alice", "wrong password")
        assert any("Wrong user name or password" in e.value for e in first.error)
    entry = read_users(console_env)["credentials"]["usernames"]["alice"]
    assert entry["failed_sign_ins"] == 2
    locked_until = datetime.fromisoformat(entry["locked_until"])
    assert locked_until - datetime.now(UTC) > timedelta(minutes=10)

    # the right password, from another browser: still locked, no password checked
    other = sign_in(whole_app().run(), "alice", PASSWORD)
    assert not other.exception
    assert any("Too many failed sign-ins" in e.value for e in other.error)
    assert not any("Signed in as" in t.value for t in other.sidebar.text)

    add_user(console_env, "alice", PASSWORD)  # a new password lifts the lockout
    again = sign_in(whole_app().run(), "alice", PASSWORD)
    assert any("Signed in as alice" in t.value for t in again.sidebar.text)


def refuse_a_reply(url: str) -> str:
    """X refused one of the held replies (after a person approved it)."""
    store = TicketStore(url)
    try:
        reply = store.list_replies(states=[DRAFTED])[0]
        with store.engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE replies SET state = 'refused', refusal = 'HTTP 403: duplicate content' "
                "WHERE reply_id = ?",
                (reply.reply_id,),
            )
        return reply.ticket_id
    finally:
        store.close()


@pytest.mark.parametrize(("role", "may_decide"), [("agent", False), ("lead", True)])
def test_only_a_lead_decides_a_reply_x_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, role: str, may_decide: bool
) -> None:
    app = queues_view(monkeypatch, tmp_path, "alice")
    ticket_id = refuse_a_reply(os.environ["TWEETCARE_TICKETS_DB_URL"])
    app.session_state["roles"] = [role]
    app.query_params["ticket"] = ticket_id
    app.run()
    assert not app.exception
    assert any("X refused this reply: HTTP 403: duplicate content" in w.value for w in app.warning)
    labels = {b.label for b in app.button}
    assert ("Approve reply" in labels) is may_decide
    assert ("Save edit" in labels) is may_decide
