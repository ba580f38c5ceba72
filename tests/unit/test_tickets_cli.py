"""`tweetcare tickets ...` and `tweetcare replies ...` on a small real SQLite store."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import tweepy
from typer.testing import CliRunner

from tests.fixtures.kafka import free_ports
from tests.unit.test_tickets import brand_reply, customer
from tweetcare.cli import app
from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.tickets import TicketStore
from tweetcare.tickets.incidents import Incident
from tweetcare.tickets.models import ticket_id_for
from tweetcare.tickets.poster import post_replies, tweepy_client
from tweetcare.tickets.replies import load_replies
from tweetcare.tickets.routing import load_routing

runner = CliRunner()
CONFIDENT = ticket_id_for("1")
UNSURE = ticket_id_for("2")


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Two tickets: a confident one (reply sent automatically, answered), an unsure one."""
    (kafka_port,) = free_ports(1)  # nothing listens there
    url = f"sqlite:///{tmp_path / 'tickets.db'}"
    monkeypatch.setenv("TWEETCARE_TICKETS_DB_URL", url)
    monkeypatch.setenv("TWEETCARE_KAFKA_PORT", str(kafka_port))
    monkeypatch.setenv("COLUMNS", "200")  # wide enough for every column
    for name in ("API_KEY", "API_SECRET", "ACCESS_TOKEN", "ACCESS_TOKEN_SECRET"):
        monkeypatch.delenv(f"TWEETCARE_X_{name}", raising=False)
    settings = Settings()
    store = TicketStore(url)
    store.create_schema()
    events = [
        customer("1", "1", 10),
        customer("2", "2", 11, category="billing", category_confidence=0.4),
        brand_reply("3", "1", 30),
    ]
    store.apply(
        events, load_routing(settings.routing_config), load_replies(settings.replies_config)
    )
    store.close()
    return settings


def test_list_filters_and_prints_json(settings: Settings) -> None:
    result = runner.invoke(app, ["tickets", "list", "--team", "billing", "--json"])
    assert result.exit_code == 0, result.output
    [line] = result.output.splitlines()
    ticket = json.loads(line)
    assert (ticket["ticket_id"], ticket["category"], ticket["priority"]) == (
        UNSURE,
        "billing",
        "high",
    )
    unknown = runner.invoke(app, ["tickets", "list", "--status", "done"])
    assert unknown.exit_code == 2
    assert "'done' is not one of 'open', 'responded', 'closed'" in unknown.output
    shouted = runner.invoke(app, ["tickets", "list", "--team", "BILLING", "--json"])
    assert [json.loads(line)["ticket_id"] for line in shouted.output.splitlines()] == [UNSURE]
    table = runner.invoke(app, ["tickets", "list"])
    assert "2 tickets" in table.output and "tech-support" in table.output
    assert "responded" in table.output and "20 min" in table.output


def test_show_names_routing_lineage_thread_and_reply(settings: Settings) -> None:
    result = runner.invoke(app, ["tickets", "show", CONFIDENT.lower()])
    assert result.exit_code == 0, result.output
    for expected in ("tech-support", "tweet-category 2 (run2)", "brand replies: 3", "[auto]"):
        assert expected in result.output
    missing = runner.invoke(app, ["tickets", "show", "TC-NOPE"])
    assert isinstance(missing.exception, UserError)
    as_json = runner.invoke(app, ["tickets", "show", CONFIDENT, "--json"])
    record = json.loads(as_json.output)
    assert (record["ticket_id"], record["team"]) == (CONFIDENT, "tech-support")
    assert record["thread"]["brand_replies"] == ["3"]
    assert [reply["decision"] for reply in record["replies"]] == ["auto"]


def test_show_names_the_incident_that_raised_a_ticket(settings: Settings) -> None:
    before = runner.invoke(app, ["tickets", "show", UNSURE])
    assert re.search(r"│ incident +│ - ", before.output)
    store = TicketStore(settings.tickets_db_url)
    spike = Incident("AL-7E57", "complaints", "AppleSupport", "billing", None, datetime.now(UTC))
    raised = store.record_incidents(
        [spike], timedelta(hours=1), load_routing(settings.routing_config)
    )
    store.close()
    assert raised.raised == 1
    result = runner.invoke(app, ["tickets", "show", UNSURE])
    assert "AL-7E57 (an active incident raised its priority)" in result.output
    record = json.loads(runner.invoke(app, ["tickets", "show", UNSURE, "--json"]).output)
    assert (record["priority"], record["incident_alert_id"]) == ("urgent", "AL-7E57")


def test_stats_and_close(settings: Settings) -> None:
    result = runner.invoke(app, ["tickets", "stats", "--json"])
    figures = json.loads(result.output)
    assert figures["tickets"] == 2 and figures["responded"] == 1
    assert figures["replies"] == {"auto": 1, "pending": 1}
    assert figures["first_response_seconds"]["median"] == 20 * 60
    assert "SLA breached" in runner.invoke(app, ["tickets", "stats"]).output
    assert runner.invoke(app, ["tickets", "close", UNSURE]).exit_code == 0
    closed = runner.invoke(app, ["tickets", "list", "--status", "closed", "--json"]).output
    assert json.loads(closed)["ticket_id"] == UNSURE


def test_the_approval_queue(settings: Settings) -> None:
    result = runner.invoke(app, ["replies", "pending", "--json"])
    [held] = [json.loads(line) for line in result.output.splitlines()]
    assert held["ticket_id"] == UNSURE
    assert held["gate_reasons"] == ["category confidence 0.40 < 0.80"]

    # publishing needs the broker: refused before anything changes
    refused = runner.invoke(app, ["replies", "approve", held["reply_id"]])
    assert isinstance(refused.exception, UserError)
    assert "no Kafka broker" in str(refused.exception)
    assert runner.invoke(app, ["replies", "pending", "--json"]).output.strip()

    approved = runner.invoke(app, ["replies", "approve", held["reply_id"], "--no-publish"])
    assert approved.exit_code == 0 and "approved 1" in approved.output
    again = runner.invoke(app, ["replies", "reject", held["reply_id"]])
    assert "not pending (it is approved)" in str(again.exception)
    assert runner.invoke(app, ["replies", "pending", "--json"]).output.strip() == ""


def test_post_is_a_dry_run_without_live(settings: Settings) -> None:
    result = runner.invoke(app, ["replies", "post"])
    assert result.exit_code == 0, result.output
    assert "dry run: 1 replies to post" in result.output  # the automatic one
    assert CONFIDENT.replace("TC-", "RE-") in result.output


def test_live_posting_without_credentials_is_a_clear_error(settings: Settings) -> None:
    result = runner.invoke(app, ["replies", "post", "--live"])
    assert isinstance(result.exception, UserError)
    assert "TWEETCARE_X_API_KEY" in str(result.exception)
    assert "TWEETCARE_X_ACCESS_TOKEN_SECRET" in str(result.exception)


class FakeX:
    """Stands in for tweepy.Client: records tweets, or answers like X does to a bad key."""

    def __init__(self, status: int | None = None) -> None:
        self.status = status
        self.sent: list[tuple[str, str]] = []

    def create_tweet(self, *, text: str, in_reply_to_tweet_id: str) -> tweepy.Response:
        if self.status is not None:
            response = requests.Response()
            response.status_code = self.status
            raise tweepy.Unauthorized(response, response_json={"title": "Unauthorized"})
        self.sent.append((text, in_reply_to_tweet_id))
        return tweepy.Response({"id": "9001", "text": text}, {}, [], {})


def test_live_posting_marks_replies_posted(settings: Settings) -> None:
    store = TicketStore(settings.tickets_db_url)
    fake = FakeX()
    report = post_replies(store, settings, live=True, make_client=lambda _s: fake)
    assert report.posted == [(CONFIDENT.replace("TC-", "RE-"), "9001")]
    # the public tweet names the ticket's number, never its internal id
    assert fake.sent[0][1] == "1" and "ticket #1 " in fake.sent[0][0]
    assert "TC-" not in fake.sent[0][0]
    assert store.replies_to_post() == []  # posted once, never twice
    store.close()


def test_a_refused_credential_is_a_clear_error(settings: Settings) -> None:
    store = TicketStore(settings.tickets_db_url)
    with pytest.raises(UserError, match=r"refused the credentials \(HTTP 401\)"):
        post_replies(store, settings, live=True, make_client=lambda _s: FakeX(401))
    assert len(store.replies_to_post()) == 1  # nothing marked posted
    store.close()


def test_the_real_client_is_built_from_settings() -> None:
    keys = {"x_api_key": "k", "x_api_secret": "s", "x_access_token": "t"}
    client = tweepy_client(Settings(**keys, x_access_token_secret="ts"))
    assert isinstance(client, tweepy.Client) and client.consumer_key == "k"
    with pytest.raises(UserError, match="TWEETCARE_X_ACCESS_TOKEN_SECRET"):
        tweepy_client(Settings(**keys))
