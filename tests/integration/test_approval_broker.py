"""Approvals on a cluster: with TWEETCARE_KAFKA_BOOTSTRAP_SERVERS naming the brokers (and
nothing at the local kafka_host:kafka_port), the CLI and the console publish the approved
reply to the real broker's `replies` topic."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fixtures.kafka import free_ports
from tests.unit.test_tickets import customer
from tweetcare.cli import app
from tweetcare.core.settings import Settings
from tweetcare.kafka.tail import tail
from tweetcare.tickets import TicketStore
from tweetcare.tickets.replies import load_replies
from tweetcare.tickets.routing import load_routing
from tweetcare.ui import workflow

pytestmark = pytest.mark.integration
runner = CliRunner()


def test_approvals_publish_through_the_bootstrap_servers(
    kafka_broker: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (dead,) = free_ports(1)
    url = f"sqlite:///{tmp_path / 'tickets.db'}"
    monkeypatch.setenv("TWEETCARE_TICKETS_DB_URL", url)
    monkeypatch.setenv("TWEETCARE_KAFKA_PORT", str(dead))  # no local broker
    monkeypatch.setenv(
        "TWEETCARE_KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{dead},{kafka_broker.kafka_bootstrap}"
    )
    settings = Settings()
    store = TicketStore(url)
    store.create_schema()
    held = [customer(n, n, 10, category="billing", category_confidence=0.4) for n in ("1", "2")]
    store.apply(held, load_routing(settings.routing_config), load_replies(settings.replies_config))
    by_cli, by_console = (r.reply_id for r in store.list_replies("pending"))
    store.close()

    approved = runner.invoke(app, ["replies", "approve", by_cli, "--user", "ann"])
    assert approved.exit_code == 0, approved.output
    assert "published to `replies`" in approved.output
    decided = workflow.decide(settings, by_console, True, "bob", None)
    assert decided.note == f"published to `{settings.topic_replies}`"

    published = [
        r.value["reply_id"]
        for r in tail(settings, settings.topic_replies, from_beginning=True, idle_seconds=10)
    ]
    assert by_cli in published and by_console in published
