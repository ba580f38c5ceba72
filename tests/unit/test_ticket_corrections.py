"""Agents' corrections: the ticket changes at once, each is kept with who and when, and the
export is one labelled row per tweet that training reads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.unit.test_tickets import brand_reply, customer
from tweetcare.cli import app
from tweetcare.core.errors import UserError
from tweetcare.core.schemas import CORRECTION_COLUMNS
from tweetcare.core.settings import Settings
from tweetcare.tickets import TicketStore, audit
from tweetcare.tickets.corrections import (
    Changes,
    correct_ticket,
    export_frame,
    list_corrections,
    merge_into,
)
from tweetcare.tickets.models import ticket_id_for
from tweetcare.tickets.replies import load_replies
from tweetcare.tickets.routing import RoutingRules, load_routing


@pytest.fixture
def routing() -> RoutingRules:
    return load_routing(Settings().routing_config)


@pytest.fixture
def store(tmp_path: Path, routing: RoutingRules) -> Iterator[TicketStore]:
    """Two tickets the models got wrong: a billing complaint read as technical, and a brand's
    own tweet read as a customer's; their replies wait for a person."""
    store = TicketStore(f"sqlite:///{tmp_path / 'tickets.db'}")
    store.create_schema()
    events = [
        customer("1", "1", 10, "@AppleSupport charged twice for my plan", category_confidence=0.5),
        brand_reply("2", "1", 12),
        customer("3", "3", 11, "@AppleSupport our store opens at 9 today", category_confidence=0.5),
    ]
    store.apply(events, routing, load_replies(Settings().replies_config), batch_id="b-1")
    yield store
    store.close()


def test_a_category_correction_reroutes_the_ticket_and_is_audited(
    store: TicketStore, routing: RoutingRules
) -> None:
    ticket_id = ticket_id_for("1")
    done = correct_ticket(
        store, ticket_id, "ann", Changes(category="billing", sentiment="negative"), routing
    )
    # the sentiment was already negative: only the category is a correction
    assert [(c["field"], c["before"], c["after"]) for c in done] == [
        ("category", "technical", "billing")
    ]
    ticket = store.get_ticket(ticket_id)
    assert (ticket.category, ticket.team) == (
        "billing",
        routing.team_for("billing", "AppleSupport"),
    )
    (entry,) = audit.trail(store.url, ticket_id)
    assert (entry.actor, entry.action, entry.detail) == (
        "ann",
        "correct",
        "category: technical -> billing",
    )
    assert [c["agent"] for c in list_corrections(store, ticket_id)] == ["ann"]


def test_a_brand_tweet_closes_its_ticket_and_a_wrong_reply_never_goes_out(
    store: TicketStore, routing: RoutingRules
) -> None:
    ticket_id = ticket_id_for("3")
    correct_ticket(store, ticket_id, "bob", Changes(inbound=False, reply_wrong=True), routing)
    assert store.get_ticket(ticket_id).status == "closed"
    (reply,) = [r for r in store.list_replies(limit=10) if r.ticket_id == ticket_id]
    assert (reply.decision, reply.state) == ("rejected", "rejected")
    fields = [c["field"] for c in list_corrections(store, ticket_id)]
    assert fields == ["inbound", "reply"]


def test_bad_corrections_are_refused_with_a_clear_message(
    store: TicketStore, routing: RoutingRules
) -> None:
    with pytest.raises(UserError, match="unknown category 'refunds'"):
        correct_ticket(store, ticket_id_for("1"), "ann", Changes(category="refunds"), routing)
    with pytest.raises(UserError, match="nothing to correct"):
        correct_ticket(store, ticket_id_for("1"), "ann", Changes(), routing)
    with pytest.raises(UserError, match="no ticket TC-NOPE"):
        correct_ticket(store, "TC-NOPE", "ann", Changes(sentiment="neutral"), routing)
    assert list_corrections(store) == []


def test_the_export_is_one_labelled_row_per_tweet_and_accumulates(
    store: TicketStore, routing: RoutingRules, tmp_path: Path
) -> None:
    correct_ticket(store, ticket_id_for("1"), "ann", Changes(category="billing"), routing)
    correct_ticket(store, ticket_id_for("1"), "bob", Changes(sentiment="neutral"), routing)
    correct_ticket(
        store, ticket_id_for("3"), "ann", Changes(inbound=False, reply_wrong=True), routing
    )
    frame = export_frame(store).set_index("tweet_id")
    assert list(frame.reset_index().columns) == list(CORRECTION_COLUMNS)
    billing = frame.loc["1"]
    assert (billing.text, billing.inbound, billing.category, billing.sentiment) == (
        "@AppleSupport charged twice for my plan",
        True,
        "billing",
        "neutral",
    )
    assert (billing.corrected, billing.agent) == ("category,sentiment", "bob")
    brand = frame.loc["3"]
    assert (brand.inbound, brand.corrected) == (False, "inbound")  # the reply mark is no label
    assert pd.isna(brand.category) and pd.isna(brand.sentiment)

    out = tmp_path / "data" / "corrections.csv"
    out.parent.mkdir()
    earlier = pd.DataFrame([{**dict.fromkeys(CORRECTION_COLUMNS, ""), "tweet_id": "99", "text": "old",
                             "inbound": "True", "category": "delivery", "sentiment": "negative",
                             "corrected": "category", "agent": "cy",
                             "corrected_at": "2026-01-01T00:00:00+00:00"}])  # fmt: skip
    earlier.to_csv(out, index=False)
    merged = merge_into(out, export_frame(store))
    assert sorted(merged.tweet_id) == ["1", "3", "99"]  # an older export's label stays


def test_the_cli_corrects_and_exports_as_a_new_file(store: TicketStore, tmp_path: Path) -> None:
    env = {"TWEETCARE_TICKETS_DB_URL": store.url, "USER": "dee"}
    runner = CliRunner()
    ticket_id = ticket_id_for("1")
    done = runner.invoke(app, ["tickets", "correct", ticket_id, "--category", "Billing"], env=env)
    assert done.exit_code == 0 and "category technical -> billing by dee" in done.output, (
        done.output
    )
    bad = runner.invoke(app, ["tickets", "correct", ticket_id, "--sentiment", "angry"], env=env)
    assert bad.exit_code == 2 and "'angry' is not one of" in bad.output
    out = tmp_path / "export" / "corrections.csv"
    exported = runner.invoke(
        app, ["data", "corrections", "export", "--out", str(out), "--dvc-file", ""], env=env
    )
    assert exported.exit_code == 0 and "wrote 1 corrected tweets" in exported.output, (
        exported.output
    )
    written = pd.read_csv(out, dtype=str)
    assert written.loc[0, ["tweet_id", "category", "agent"]].tolist() == ["1", "billing", "dee"]
