"""The console's forms fuzzed through the backends their buttons call (`tweetcare.ui.workflow`),
on SQLite and on a real Postgres: a reply edit, a ticket search and close, a label from the
Label queue, with hostile values (sizes, encodings, control characters, NUL bytes, SQL and HTML
metacharacters). Each is stored verbatim or refused with one clear UserError: never a database
error, never a traceback."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.test_tickets import customer
from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.tickets import TicketStore
from tweetcare.tickets.labels import TweetLabel
from tweetcare.tickets.replies import load_replies
from tweetcare.tickets.routing import load_routing
from tweetcare.ui import workflow

pytestmark = pytest.mark.integration

HOSTILE = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=60),
    st.sampled_from(
        [
            "'; DROP TABLE replies; --",
            "Robert'); DELETE FROM tickets WHERE ('1'='1",
            '<script>alert("x")</script>',
            "<img src=x onerror=alert(1)>",
            "**bold** _it_ [link](javascript:alert(1)) `code` $x$",
            "%s %(text)s {0} \\",
            "a\x00b",
            "\x00",
            "\x1b[31mred",
            "line\r\nbreak",
            "\u202eevil",
            "\ud7ff\uffff",
            "e\u0301" * 200,  # 400 code points, 200 once NFC-composed: X takes it
            "é" * 281,
            "   ",
            "",
        ]
    ),
    st.integers(270, 20_000).map(lambda n: "y" * n),
)
AGENT = "agent-ann"
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(params=["sqlite", "postgres"])
def console_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """A store holding one ticket whose reply the gate held (so an agent may edit it)."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_tickets_url")
    else:
        url = f"sqlite:///{tmp_path / 'tickets.db'}"
    settings = Settings(tickets_db_url=url)
    store = TicketStore(url)
    store.create_schema()
    tweet = f"fuzz-{uuid.uuid4().hex}"  # a ticket of its own in the module's Postgres
    held = customer(tweet, tweet, 1, category_confidence=0.5)
    store.apply(
        [held], load_routing(settings.routing_config), load_replies(settings.replies_config)
    )
    store.close()
    return settings


def one_clear_line(err: UserError) -> None:
    message = str(err)
    assert message.strip() and "Traceback" not in message


def held_reply(settings: Settings) -> dict[str, Any]:
    store = TicketStore(settings.tickets_db_url)
    try:
        [reply] = [r for r in store.list_replies(limit=1000) if r.state == "drafted"]
        return reply.to_dict()
    finally:
        store.close()


def test_a_reply_edit_is_saved_verbatim_or_refused(console_settings: Settings) -> None:
    reply = held_reply(console_settings)

    @FUZZ
    @given(text=HOSTILE)
    def edit(text: str) -> None:
        try:
            saved = workflow.edit_reply(console_settings, reply["reply_id"], text, AGENT, None)
        except UserError as err:
            one_clear_line(err)
            return
        assert saved["text"] == text.strip()
        assert workflow.reply_of(console_settings, reply["ticket_id"])["text"] == text.strip()

    edit()


def test_a_ticket_search_or_close_by_any_reference_finds_it_or_says_why(
    console_settings: Settings,
) -> None:
    @FUZZ
    @given(reference=HOSTILE)
    def find_and_close(reference: str) -> None:
        try:
            found = workflow.find_ticket(console_settings, reference)
        except UserError as err:  # an ambiguous prefix
            one_clear_line(err)
            found = None
        try:
            closed = workflow.close_ticket(console_settings, reference, AGENT, None)
        except UserError as err:
            one_clear_line(err)
            return
        assert found is not None and closed["ticket_id"] == found["ticket_id"]

    find_and_close()


LABEL_VALUES = st.one_of(st.sampled_from(["travel", "negative", "delivery", "neutral"]), HOSTILE)


def test_a_label_of_a_hostile_tweet_is_stored_verbatim_or_refused(
    console_settings: Settings,
) -> None:
    @FUZZ
    @given(
        tweet_id=HOSTILE,
        text=HOSTILE,
        category=LABEL_VALUES,
        sentiment=LABEL_VALUES,
        needs_ticket=st.booleans(),
    )
    def label(tweet_id: str, text: str, category: str, sentiment: str, needs_ticket: bool) -> None:
        tweet = {"tweet_id": tweet_id, "conversation_id": tweet_id, "text": text}
        tweet |= {"category": "travel", "sentiment": "negative", "needs_ticket": True}
        answer = TweetLabel(category, sentiment, needs_ticket)
        try:
            rows = workflow.label(console_settings, tweet, answer, AGENT)
        except UserError as err:  # an unknown label, or this tweet labelled already
            one_clear_line(err)
            return
        assert rows and {row["text"] for row in rows} == {text}

    label()
