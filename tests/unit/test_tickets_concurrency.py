"""The ticket store under the stream's new load: tasks writing at once, replays, and outages."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from pathlib import Path

import pytest

from tests.unit.test_tickets import OTHER_DATABASE, brand_reply, customer
from tweetcare.backoff import Backoff
from tweetcare.core.settings import Settings
from tweetcare.tickets import TicketEvent, TicketStore
from tweetcare.tickets.models import Base, ticket_id_for
from tweetcare.tickets.replies import load_replies
from tweetcare.tickets.routing import load_routing

TASKS = 4
CONVERSATIONS_PER_TASK = 40


def partition_events(task: int) -> list[TicketEvent]:
    """One Kafka partition's share: its own conversations, each opened, followed up, answered."""
    events = []
    for n in range(CONVERSATIONS_PER_TASK):
        conversation = f"{task}-{n}"
        events.append(customer(f"{conversation}-a", conversation, 10))
        events.append(brand_reply(f"{conversation}-b", conversation, 20))
        events.append(customer(f"{conversation}-c", conversation, 30, needs_ticket=False))
    return events


def apply_partition(url: str, task: int) -> None:
    """What one executor task does: apply its partition's batch (twice: a replayed batch)."""
    settings = Settings()
    routing, templates = (
        load_routing(settings.routing_config),
        load_replies(settings.replies_config),
    )
    store = TicketStore(url)
    for _ in range(2):
        store.apply(partition_events(task), routing, templates, batch_id=f"b-{task}")
    store.close()


def test_tasks_applying_at_once_give_one_ticket_per_conversation(tmp_path: Path) -> None:
    url = os.environ.get(OTHER_DATABASE) or f"sqlite:///{tmp_path / 'tickets.db'}"
    store = TicketStore(url)
    Base.metadata.drop_all(store.engine)
    store.create_schema()
    # real separate processes, like executors; forked, so they run exactly the code under test
    context = multiprocessing.get_context("fork")
    tasks = [context.Process(target=apply_partition, args=(url, t)) for t in range(TASKS)]
    for task in tasks:
        task.start()
    for task in tasks:
        task.join(timeout=300)
    assert [task.exitcode for task in tasks] == [0] * TASKS
    counts = store.counts()
    assert counts["tickets"] == TASKS * CONVERSATIONS_PER_TASK
    assert counts["attached_tweets"] == 2 * TASKS * CONVERSATIONS_PER_TASK  # replays added none
    assert len(store.list_replies(limit=10_000)) == TASKS * CONVERSATIONS_PER_TASK
    ticket = store.get_ticket(ticket_id_for("2-7"))
    assert (ticket.tweet_count, ticket.status, ticket.first_response_tweet_id) == (
        2,
        "open",
        "2-7-b",
    )
    store.close()


def test_ticket_ids_are_full_length_and_stable() -> None:
    ticket_id = ticket_id_for("1234567890")
    assert ticket_id == ticket_id_for("1234567890") and ticket_id.startswith("TC-")
    assert len(ticket_id) == len("TC-") + 32  # 128 bits, no truncation
    ids = {ticket_id_for(str(n)) for n in range(100_000)}
    assert len(ids) == 100_000


def test_a_store_that_is_down_is_waited_for(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The database file's folder is missing (a store that cannot be opened) until it appears."""
    url = f"sqlite:///{tmp_path / 'later' / 'tickets.db'}"
    settings = Settings()
    routing, templates = (
        load_routing(settings.routing_config),
        load_replies(settings.replies_config),
    )
    store = TicketStore(url, backoff=Backoff(total_s=60.0, first_s=0.2, max_s=1.0))

    def come_back() -> None:
        time.sleep(2.0)
        TicketStore(url).create_schema()

    returning = threading.Thread(target=come_back)
    returning.start()
    with caplog.at_level(logging.WARNING, logger="tweetcare.backoff"):
        outcome = store.apply([customer("1", "1", 10)], routing, templates)
    returning.join()
    assert outcome.opened == 1 and store.counts()["tickets"] == 1
    waits = [r.getMessage() for r in caplog.records if "unavailable" in r.getMessage()]
    assert waits and "attempt 1, waiting 0.2s" in waits[0]
    store.close()


def test_a_store_down_for_too_long_raises(tmp_path: Path) -> None:
    store = TicketStore(
        f"sqlite:///{tmp_path / 'never' / 't.db'}", backoff=Backoff(total_s=0.3, first_s=0.1)
    )
    settings = Settings()
    with pytest.raises(Exception, match="unable to open database file"):
        store.apply(
            [customer("1", "1", 10)],
            load_routing(settings.routing_config),
            load_replies(settings.replies_config),
        )
