"""Agents acting at once: every decide, edit and close is a compare-and-set on the version the
agent saw, committed with its audit entry in one transaction, from the console and the CLI."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.unit.test_tickets import customer
from tweetcare import cli
from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.tickets import TicketStore, actions, audit
from tweetcare.tickets.actions import ChangedMeanwhile
from tweetcare.tickets.corrections import Changes, correct_ticket
from tweetcare.tickets.models import APPROVED, CLOSED, DRAFTED, Reply, ticket_id_for
from tweetcare.tickets.replies import load_replies
from tweetcare.tickets.routing import load_routing
from tweetcare.tickets.tweet_text import TWEET_MAX_CHARS
from tweetcare.ui import workflow

SETTINGS = Settings()
ROUTING = load_routing(SETTINGS.routing_config)
TEMPLATES = load_replies(SETTINGS.replies_config)
HELD = ticket_id_for("2")  # its reply waits for a person


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TicketStore]:
    """Two tickets in SQLite: a confident one (its reply went out on its own), a held one."""
    url = f"sqlite:///{tmp_path / 'tickets.db'}"
    monkeypatch.setenv("TWEETCARE_TICKETS_DB_URL", url)
    monkeypatch.setenv("TWEETCARE_KAFKA_PORT", "1")  # no broker: approvals stay in the store
    store = TicketStore(url)
    store.create_schema()
    events = [
        customer("1", "1", 10),
        customer("2", "2", 11, category="billing", category_confidence=0.4),
    ]
    store.apply(events, ROUTING, TEMPLATES)
    yield store
    store.close()


def held_reply(store: TicketStore) -> Reply:
    [reply] = store.list_replies(states=[DRAFTED])
    return reply


def trail(store: TicketStore) -> list[tuple[str, str]]:
    return [(e.actor, e.action) for e in audit.trail(store.url, HELD)]


def test_an_edit_saved_after_a_colleagues_approval_is_refused(store: TicketStore) -> None:
    seen = held_reply(store)  # both agents load the reply
    actions.decide_reply(store, seen.reply_id, True, "alice", seen.version)
    with pytest.raises(ChangedMeanwhile, match=r"changed by someone else.*reload"):
        actions.edit_reply(store, seen.reply_id, "Something else", "bob", seen.version)
    reply = store.list_replies(ticket_id=HELD)[0]
    assert (reply.state, reply.text) == (APPROVED, seen.text)  # what alice approved goes out
    assert trail(store) == [("alice", "approve")]


def test_a_decision_on_a_reply_edited_meanwhile_is_refused(store: TicketStore) -> None:
    seen = held_reply(store)
    edited = actions.edit_reply(store, seen.reply_id, "Sorry! We are on it.", "alice", seen.version)
    assert edited.version == seen.version + 1
    with pytest.raises(ChangedMeanwhile, match=f"version {seen.version}, now {edited.version}"):
        actions.decide_reply(store, seen.reply_id, True, "bob", seen.version)
    assert held_reply(store).state == DRAFTED  # bob reloads, reads the new text, decides then
    actions.decide_reply(store, seen.reply_id, True, "bob", edited.version)
    assert trail(store) == [("alice", "edit"), ("bob", "approve")]


def test_closing_a_ticket_that_got_a_follow_up_since_it_was_loaded_is_refused(
    store: TicketStore,
) -> None:
    seen = store.get_ticket(HELD)
    store.apply([customer("2b", "2", 20, text="@AppleSupport hello??")], ROUTING, TEMPLATES)
    with pytest.raises(ChangedMeanwhile, match=f"ticket {HELD} was changed by someone else"):
        actions.close_ticket(store, HELD, "alice", seen.version)
    assert store.get_ticket(HELD).status != CLOSED
    fresh = store.get_ticket(HELD)
    assert actions.close_ticket(store, HELD, "alice", fresh.version).status == CLOSED
    with pytest.raises(UserError, match="closed already"):
        actions.close_ticket(store, HELD, "bob", None)
    assert trail(store) == [("alice", "close")]


def test_a_correction_moves_the_version_on_too(store: TicketStore) -> None:
    seen = store.get_ticket(HELD)
    correct_ticket(store, HELD, "alice", Changes(category="technical"), ROUTING)
    assert store.get_ticket(HELD).version == seen.version + 1
    with pytest.raises(ChangedMeanwhile):
        actions.close_ticket(store, HELD, "bob", seen.version)


def test_a_change_is_never_committed_without_its_audit_entry(store: TicketStore) -> None:
    """The audit insert fails (a trigger stands in for a full disk): the decision rolls back
    with it, from the console and from the CLI alike."""
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TRIGGER audit_down BEFORE INSERT ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit trail unavailable'); END"
            )
        )
    seen = held_reply(store)
    with pytest.raises(Exception, match="audit trail unavailable"):
        workflow.decide(Settings(), seen.reply_id, True, "alice", seen.version)
    with pytest.raises(Exception, match="audit trail unavailable"):
        actions.close_ticket(store, HELD, "alice", None)
    assert held_reply(store).version == seen.version  # still drafted, untouched
    assert store.get_ticket(HELD).status != CLOSED


def test_a_reply_longer_than_x_takes_is_refused_before_it_is_saved(store: TicketStore) -> None:
    seen = held_reply(store)
    too_long = "é" * (TWEET_MAX_CHARS + 1)
    with pytest.raises(UserError, match=f"281 characters; X takes at most {TWEET_MAX_CHARS}"):
        actions.edit_reply(store, seen.reply_id, too_long, "alice", seen.version)
    at_limit = "e\u0301" * TWEET_MAX_CHARS  # 280 once composed, as X counts it
    assert actions.edit_reply(store, seen.reply_id, at_limit, "alice", seen.version).text
    assert trail(store) == [("alice", "edit")]


def run_cli(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["tweetcare", *args])
    return cli.main()


def test_the_cli_audits_approve_reject_edit_and_close_under_the_user(
    store: TicketStore, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    reply = held_reply(store)
    assert run_cli(monkeypatch, "replies", "edit", reply.reply_id, "Sorry!", "--user", "al") == 0
    stale = ["--expect-version", str(reply.version)]
    assert run_cli(monkeypatch, "replies", "approve", reply.reply_id, "--no-publish", *stale) == 1
    assert "changed by someone else" in capsys.readouterr().err
    approve = ["replies", "approve", reply.reply_id, "--no-publish", "--user", "bo"]
    assert run_cli(monkeypatch, *approve) == 0
    assert run_cli(monkeypatch, "tickets", "close", HELD) == 0  # the OS user
    assert trail(store) == [("al", "edit"), ("bo", "approve"), (getpass.getuser(), "close")]
    capsys.readouterr()

    too_long = "x" * (TWEET_MAX_CHARS + 1)
    other = store.list_replies(ticket_id=ticket_id_for("1"))[0]
    assert run_cli(monkeypatch, "replies", "edit", other.reply_id, too_long) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"has 281 characters; X takes at most {TWEET_MAX_CHARS}" in err
    assert run_cli(monkeypatch, "replies", "edit", other.reply_id, "Hi!") == 1  # its state
    assert "is approved: only a drafted or refused one is edited" in capsys.readouterr().err
    assert run_cli(monkeypatch, "replies", "reject", "RE-1", "RE-2", *stale) == 2
    assert "give one reply id" in capsys.readouterr().err


def test_reopen_and_assign_are_audited_compare_and_sets(
    store: TicketStore, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(monkeypatch, "tickets", "reopen", HELD, "--user", "al") == 1  # not closed
    assert "not closed" in capsys.readouterr().err
    assert run_cli(monkeypatch, "tickets", "close", HELD, "--user", "al") == 0
    closed = store.get_ticket(HELD)
    assert closed is not None and closed.status == CLOSED

    reopened = actions.reopen_ticket(store, HELD, "bo", version=closed.version)
    assert reopened.status == "open" and reopened.closed_at is None
    with pytest.raises(ChangedMeanwhile):  # a colleague's close view is out of date
        actions.close_ticket(store, HELD, "cy", version=closed.version)

    assert run_cli(monkeypatch, "tickets", "assign", HELD, "dee", "--user", "bo") == 0
    assert "assigned to dee by bo" in capsys.readouterr().out
    assert store.get_ticket(HELD).assignee == "dee"  # type: ignore[union-attr]
    assert run_cli(monkeypatch, "tickets", "assign", HELD, "--user", "bo") == 0  # to the queue
    assert store.get_ticket(HELD).assignee is None  # type: ignore[union-attr]
    assert run_cli(monkeypatch, "tickets", "assign", HELD, "x" * 65, "--user", "bo") == 2
    assert "at most 64 characters" in capsys.readouterr().err
    assert trail(store) == [
        ("al", "close"),
        ("bo", "reopen"),
        ("bo", "assign"),
        ("bo", "assign"),
    ]
    entries = audit.trail(store.url, HELD)
    assert [e.detail for e in entries[-2:]] == ["queue -> dee", "dee -> queue"]
