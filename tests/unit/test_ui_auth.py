"""Console safety: sign-in before anything, the audit trail of every agent action, and outside
text (author ids, tweets) shown literally, never as Markdown."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml
from streamlit.testing.v1 import AppTest

from tests.fixtures.bento import free_port
from tests.fixtures.console_data import write_console_data
from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.tickets import audit
from tweetcare.tickets.models import APPROVED, CLOSED, PENDING, Ticket
from tweetcare.tickets.store import TicketStore
from tweetcare.ui import backends, workflow
from tweetcare.ui.config import APP_PATH
from tweetcare.ui.safe import escape_markdown
from tweetcare.ui.users import add_user, read_users

TIMEOUT = 60
PASSWORD = "correct horse battery"


@pytest.fixture
def console_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Nothing running, and a users file path of our own."""
    monkeypatch.setenv("TWEETCARE_BENTO_PORT", str(free_port()))
    monkeypatch.setenv("TWEETCARE_TICKETS_DB_URL", f"sqlite:///{tmp_path / 'tickets.db'}")
    monkeypatch.setenv("TWEETCARE_LAKE_DIR", str(tmp_path / "lake"))
    monkeypatch.setenv("TWEETCARE_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    users = tmp_path / "users.yaml"
    monkeypatch.setenv("TWEETCARE_CONSOLE_USERS_FILE", str(users))
    return users


def whole_app() -> AppTest:
    return AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT)


def test_users_add_stores_only_a_bcrypt_hash_readable_by_its_owner(tmp_path: Path) -> None:
    path = tmp_path / "state" / "users.yaml"
    assert add_user(path, "Alice", PASSWORD, name="Alice Smith")
    assert not add_user(path, "alice", PASSWORD + "!")  # a new password for the same agent
    config = read_users(path)
    alice = config["credentials"]["usernames"]["alice"]
    assert alice["password"].startswith("$2b$") and PASSWORD not in path.read_text()
    assert len(config["cookie"]["key"]) == 64 and path.stat().st_mode & 0o077 == 0
    with pytest.raises(UserError, match="at least 8"):
        add_user(path, "bob", "short")
    with pytest.raises(UserError, match="not a usable name"):
        add_user(path, "bob smith", PASSWORD)


def test_with_no_agents_the_console_says_how_to_add_one(console_env: Path) -> None:
    app = whole_app().run()
    assert not app.exception
    [warning] = [w.value for w in app.warning]
    assert "tweetcare users add NAME" in warning
    assert not app.sidebar.markdown  # no backend statuses for an anonymous visitor


def test_an_anonymous_visitor_sees_only_the_sign_in_form(console_env: Path) -> None:
    add_user(console_env, "alice", PASSWORD)
    app = whole_app().run()
    assert not app.exception
    assert [t.label for t in app.text_input] == ["Username", "Password"]
    assert [b.label for b in app.button] == ["Sign in"]
    assert not app.sidebar.markdown and not app.text_area

    app.text_input[0].input("alice")
    app.text_input[1].input("wrong password")
    app.button[0].click().run()
    assert any("Wrong user name or password" in e.value for e in app.error)
    assert not app.sidebar.markdown


def test_an_agent_who_signs_in_sees_the_console(console_env: Path) -> None:
    add_user(console_env, "alice", PASSWORD, name="Alice Smith")
    app = whole_app().run()
    app.text_input[0].input("Alice")  # the authenticator lower-cases the name
    app.text_input[1].input(PASSWORD)
    app.button[0].click().run()
    assert not app.exception
    sidebar = " ".join(m.value for m in app.sidebar.markdown)
    assert "ticket store" in sidebar and "model server (BentoML)" in sidebar
    assert any("Signed in as Alice Smith (alice)" in t.value for t in app.sidebar.text)


def test_every_agent_action_is_in_the_audit_trail_under_their_name(tmp_path: Path) -> None:
    data = write_console_data(tmp_path, datetime.now(UTC))
    settings = Settings(tickets_db_url=data.tickets_db_url, kafka_port=free_port())
    store = TicketStore(data.tickets_db_url)
    pending = [r for r in store.list_replies(PENDING)]
    store.close()
    first, second = pending[0], pending[1]

    edited = workflow.edit_reply(
        settings, first.reply_id, "We are on it, sorry!", "alice", first.version
    )
    decided = workflow.decide(settings, first.reply_id, True, "alice", edited["version"])
    workflow.decide(settings, second.reply_id, False, "bob", second.version)
    ticket = store_ticket(data.tickets_db_url, first.ticket_id)
    workflow.close_ticket(settings, first.ticket_id, "bob", ticket.version)
    with pytest.raises(UserError, match="only a drafted or refused one"):
        workflow.edit_reply(settings, first.reply_id, "too late", "alice", None)

    assert decided.reply["decision"] == APPROVED and decided.reply["text"] == "We are on it, sorry!"
    trail = workflow.audit_trail(settings, first.ticket_id)
    assert [(e.actor, e.action, e.target_id) for e in trail] == [
        ("alice", "edit", first.reply_id),
        ("alice", "approve", first.reply_id),
        ("bob", "close", first.ticket_id),
    ]
    assert trail[0].detail == f"was: {first.text}"
    assert all(e.at.tzinfo is not None for e in trail)
    assert [(e.actor, e.action) for e in audit.trail(data.tickets_db_url, second.ticket_id)] == [
        ("bob", "reject")
    ]
    store = TicketStore(data.tickets_db_url)
    assert store.get_ticket(first.ticket_id).status == CLOSED
    store.close()
    with pytest.raises(UserError, match="unknown audit action"):
        audit.record(data.tickets_db_url, "alice", "delete", first.ticket_id)


def store_ticket(url: str, ticket_id: str) -> Ticket:
    store = TicketStore(url)
    try:
        return store.get_ticket(ticket_id)
    finally:
        store.close()


QUEUES_SCRIPT = (
    "from tweetcare.core.settings import get_settings\n"
    "from tweetcare.ui.components import guarded\n"
    "from tweetcare.ui import queues\n"
    "guarded(queues.render, get_settings())\n"
)


def queues_view(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, agent: str | None) -> AppTest:
    data = write_console_data(tmp_path, datetime.now(UTC))
    monkeypatch.setenv("TWEETCARE_TICKETS_DB_URL", data.tickets_db_url)
    monkeypatch.setenv("TWEETCARE_LAKE_DIR", str(data.lake_dir))
    monkeypatch.setenv("TWEETCARE_KAFKA_PORT", str(free_port()))
    app = AppTest.from_string(QUEUES_SCRIPT, default_timeout=TIMEOUT)
    if agent:
        app.session_state["authentication_status"] = True
        app.session_state["username"] = agent
    return app.run()


def test_without_an_agent_the_queue_offers_no_action(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    app = queues_view(monkeypatch, tmp_path, None)
    assert not app.exception and not app.error
    labels = {b.label for b in app.button}
    assert not labels & {"Approve reply", "Reject reply", "Close ticket", "Save edit"}


def test_an_agents_approval_shows_in_the_tickets_audit_trail(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    app = queues_view(monkeypatch, tmp_path, "alice")
    app.toggle(key="only_pending").set_value(True).run()
    approved = next(s for s in app.selectbox if s.label == "Open a ticket").value
    approve = next(b for b in app.button if b.label == "Approve reply")
    approve.click().run()
    assert not app.exception
    assert any("approved" in s.value for s in app.success)
    app.toggle(key="only_pending").set_value(False).run()  # the whole queue again
    # open the decided ticket (the queue's order puts others first)
    next(s for s in app.selectbox if s.label == "Open a ticket").set_value(approved).run()
    trail = next(t.value for t in app.table if "agent" in t.value.columns)
    assert trail[["agent", "action"]].values.tolist() == [["alice", "approve"]]


def test_author_and_tweet_text_show_literally(monkeypatch: pytest.MonkeyPatch) -> None:
    author, text = "**boss**", "[free money](http://evil.example) <b>now</b> :red[alert]"
    thread = pd.DataFrame(
        {
            "inbound": [True],
            "created_at": ["2026-11-30T12:00:00Z"],
            "author_id": [author],
            "text": [text],
        }
    )
    monkeypatch.setattr(backends, "read_thread", lambda settings, conversation: thread)
    script = (
        "from tweetcare.core.settings import get_settings\n"
        "from tweetcare.ui import queues\n"
        "queues.show_thread(get_settings(), {'conversation_id': 'c1', 'text': 'x'})\n"
    )
    app = AppTest.from_string(script, default_timeout=TIMEOUT).run()
    assert not app.exception
    shown = [t.value for t in app.text]
    assert text in shown and any(line.startswith(f"@{author} · ") for line in shown)
    assert not [m.value for m in app.markdown if author in m.value or text in m.value]
    assert not [c.value for c in app.caption if author in c.value]


def test_markdown_escaping_keeps_the_text_and_drops_the_meaning() -> None:
    raw = "**x** [a](b) <i>y</i> :red[z] #1 `c`"
    escaped = escape_markdown(raw)
    assert "<" not in escaped and "**" not in escaped and "[a]" not in escaped
    assert escaped.replace("\\", "").replace("&lt;", "<").replace("&gt;", ">") == raw


def test_the_users_file_is_the_authenticators_layout(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    add_user(path, "alice", PASSWORD)
    loaded = yaml.safe_load(path.read_text())
    assert set(loaded) == {"credentials", "cookie"}
    assert set(loaded["cookie"]) == {"name", "key", "expiry_days"}


def test_the_console_listens_on_loopback_unless_told_otherwise() -> None:
    import inspect

    from tweetcare.cli.ui import ui
    from tweetcare.ui.launcher import console_command

    command = console_command(8765)
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert inspect.signature(ui).parameters["address"].default == "127.0.0.1"
