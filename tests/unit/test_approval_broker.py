"""Approvals find the broker where every Kafka client does: TWEETCARE_KAFKA_BOOTSTRAP_SERVERS
when set (a cluster), else the local broker at kafka_host:kafka_port. Here something listens
at the local address and nothing at the bootstrap servers, so an approval that looked at the
local address would go on to publish; it must say that the cluster's brokers do not answer."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fixtures.kafka import free_ports
from tests.unit.test_tickets import customer
from tweetcare.cli import app
from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.tickets import TicketStore
from tweetcare.tickets.models import APPROVED
from tweetcare.tickets.replies import load_replies
from tweetcare.tickets.routing import load_routing
from tweetcare.ui import workflow

runner = CliRunner()


@pytest.fixture
def local_listener() -> Iterator[int]:
    """A TCP port that accepts connections at the local broker's address (no broker)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


@pytest.fixture
def held_reply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_listener: int
) -> tuple[Settings, str]:
    """A store with one reply held for a person; the cluster's bootstrap list answers nowhere."""
    dead = free_ports(2)
    url = f"sqlite:///{tmp_path / 'tickets.db'}"
    monkeypatch.setenv("TWEETCARE_TICKETS_DB_URL", url)
    monkeypatch.setenv("TWEETCARE_KAFKA_PORT", str(local_listener))
    servers = ",".join(f"127.0.0.1:{port}" for port in dead)
    monkeypatch.setenv("TWEETCARE_KAFKA_BOOTSTRAP_SERVERS", servers)
    settings = Settings()
    store = TicketStore(url)
    store.create_schema()
    unsure = customer("1", "1", 10, category="billing", category_confidence=0.4)
    store.apply(
        [unsure], load_routing(settings.routing_config), load_replies(settings.replies_config)
    )
    [reply] = store.list_replies("pending")
    store.close()
    return settings, reply.reply_id


def test_the_cli_checks_the_bootstrap_servers_before_approving(
    held_reply: tuple[Settings, str],
) -> None:
    settings, reply_id = held_reply
    refused = runner.invoke(app, ["replies", "approve", reply_id, "--user", "ann"])
    assert isinstance(refused.exception, UserError)
    assert f"no Kafka broker answers at {settings.kafka_bootstrap_servers}" in str(
        refused.exception
    )
    store = TicketStore(settings.tickets_db_url)
    assert [r.reply_id for r in store.list_replies("pending")] == [reply_id]  # nothing changed
    store.close()


def test_the_console_approves_and_says_the_cluster_did_not_answer(
    held_reply: tuple[Settings, str],
) -> None:
    settings, reply_id = held_reply
    decided = workflow.decide(settings, reply_id, True, "ann", None)
    assert decided.reply["state"] == APPROVED
    assert decided.note == (
        f"not published to `{settings.topic_replies}`: no Kafka broker at "
        f"{settings.kafka_bootstrap_servers} (`tweetcare kafka start`)"
    )
