"""The console acts on the version of a ticket or reply drawn on the agent's page: a change made
after the page was drawn (a follow-up from the stream, a colleague's edit) is refused with a
message to reload, and the next click, on the redrawn page, goes through."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.unit.test_tickets import customer
from tests.unit.test_ui_auth import queues_view
from tweetcare.core.settings import Settings
from tweetcare.tickets import TicketStore, actions, audit
from tweetcare.tickets.models import CLOSED, DRAFTED, OPEN, Reply
from tweetcare.tickets.replies import load_replies
from tweetcare.tickets.routing import load_routing


def opened(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[AppTest, Reply]:
    """alice's page, open on a ticket whose reply waits for a person; that reply."""
    app = queues_view(monkeypatch, tmp_path, "alice")
    store = TicketStore(os.environ["TWEETCARE_TICKETS_DB_URL"])
    reply = store.list_replies(states=[DRAFTED])[0]
    store.close()
    app.query_params["ticket"] = reply.ticket_id
    return app.run(), reply


def button(app: AppTest, label: str) -> object:
    return next(b for b in app.button if b.label == label)


def test_closing_after_a_follow_up_arrived_is_refused_until_the_agent_reloads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    app, reply = opened(monkeypatch, tmp_path)
    store = TicketStore(os.environ["TWEETCARE_TICKETS_DB_URL"])
    ticket_id = reply.ticket_id
    conversation = store.get_ticket(ticket_id).conversation_id
    settings = Settings()
    follow_up = customer("follow-up-1", conversation, 59, text="@AppleSupport still waiting")
    store.apply(
        [follow_up], load_routing(settings.routing_config), load_replies(settings.replies_config)
    )

    button(app, "Close ticket").click().run()  # drawn before the follow-up came in
    assert not app.exception
    assert any("was changed by someone else" in e.value for e in app.error)
    assert store.get_ticket(ticket_id).status == OPEN

    button(app, "Close ticket").click().run()  # the page now shows the follow-up
    number = store.get_ticket(ticket_id).reference
    assert any(f"Ticket {number} closed by alice" in s.value for s in app.success)
    assert store.get_ticket(ticket_id).status == CLOSED
    assert [e.action for e in audit.trail(store.url, ticket_id)] == ["close"]
    store.close()


def test_approving_a_reply_a_colleague_edited_meanwhile_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    app, reply = opened(monkeypatch, tmp_path)
    store = TicketStore(os.environ["TWEETCARE_TICKETS_DB_URL"])
    actions.edit_reply(store, reply.reply_id, "Sorry, we are on it!", "bob", reply.version)

    button(app, "Approve reply").click().run()
    assert any("was changed by someone else" in e.value for e in app.error)
    assert store.list_replies(ticket_id=reply.ticket_id)[0].state == DRAFTED
    assert any("Sorry, we are on it!" in t.value for t in app.text)  # the page shows bob's text
    store.close()
