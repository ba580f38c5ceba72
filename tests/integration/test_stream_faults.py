"""Faults on the real stack: the job killed mid-batch, the model server and the broker down.

One module, one private broker (restarted by one test), one `bentoml serve` (stopped by one
test) over one throw-away registry; each test has its own topics, state, lake and ticket store.
Each replays the same generated tweets and checks the lake by raw rows (a count that sees
duplicates), not only by distinct ids.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError
from kafka import KafkaConsumer

from serving.launcher import start_server, stop_server
from tests.fixtures.kafka import broker_settings, free_ports
from tests.unit.test_replies_outbox import CRASHING_POSTER, RecordingX, posts
from tweetcare.cli.stream import (
    progress_file,
    start_stream,
    stop_stream,
    stream_health,
    supervisor_file,
)
from tweetcare.core.kill_points import KILL_AT_ENV, KILL_ONCE_ENV, TICKETS_AFTER_UPSERT
from tweetcare.core.settings import Settings
from tweetcare.data.generator import write_dataset
from tweetcare.kafka.broker import start_broker, stop_broker
from tweetcare.kafka.replay import replay
from tweetcare.kafka.topics import ensure_topics
from tweetcare.process import alive
from tweetcare.supervisor import read_state
from tweetcare.tickets import TicketStore
from tweetcare.tickets.poster import post_replies

# the module's setup alone (registry with every analysis model, `bentoml serve`) takes minutes
pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.timeout(3600)]

TWEETS = 300
# generous: Spark, the model server and the broker share two cores with everything else
CATCH_UP_TIMEOUT_S = 1200.0
MODEL_OUTAGE_S = 20.0
# `bentoml serve` loads every analysis model before it is ready: slow on a busy machine
SERVER_READY_TIMEOUT_S = 400.0


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A private broker: one test restarts it, which must not disturb the shared one."""
    settings = broker_settings(tmp_path_factory.mktemp("faults-kafka"))
    start_broker(settings)
    try:
        yield settings
    finally:
        stop_broker(settings)


@pytest.fixture(scope="module")
def model_server(
    broker: Settings,
    full_registry: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Settings]:
    """`bentoml serve` over the registry; its settings let a test stop and start it again."""
    work = tmp_path_factory.mktemp("faults-server")
    (port,) = free_ports(1)
    settings = Settings(
        **{
            **broker.model_dump(),
            "state_dir": work / "state",
            "mlflow_tracking_uri": full_registry,
            "bento_port": port,
        }
    )
    env = {"BENTOML_HOME": str(work / "bentoml")}
    start_server(settings, extra_env=env, timeout=SERVER_READY_TIMEOUT_S)
    try:
        yield settings
    finally:
        stop_server(settings)


@pytest.fixture(scope="module")
def tweets_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    csv, _ = write_dataset(tmp_path_factory.mktemp("faults-data"), rows=2 * TWEETS, seed=11)
    return csv


@pytest.fixture
def stream(model_server: Settings, tmp_path: Path) -> Iterator[Settings]:
    """This test's own topics, state, lake and ticket store on the module's broker and server."""
    settings = Settings(
        **{
            **model_server.model_dump(),
            "state_dir": tmp_path / "state",
            "lake_dir": tmp_path / "lake",
            "tickets_db_url": f"sqlite:///{tmp_path / 'tickets.db'}",
            "topic_tweets": f"{tmp_path.name}-tweets",
            "topic_tickets": f"{tmp_path.name}-tickets",
            "topic_replies": f"{tmp_path.name}-replies",
            "topic_dlq": f"{tmp_path.name}-dlq",
            "trigger_seconds": 1.0,
            "max_offsets_per_trigger": 150,  # several batches, so a fault lands mid-run
        }
    )
    ensure_topics(settings)
    yield settings
    stop_stream(settings)


def consumed(settings: Settings) -> int:
    """Messages of `tweets` the job has finished (its progress file)."""
    progress = read_state(progress_file(settings))
    done = progress.get("end_offsets", {}).get(settings.topic_tweets, {})
    return sum(int(offset) for offset in done.values())


def archived(settings: Settings, expected: int) -> bool:
    """All `expected` messages of `tweets` scored, and their rows merged into the lake (the lake
    query reads them from the lake rows topic on its own trigger)."""
    if consumed(settings) != expected:
        return False
    return stream_health(settings)["lake_lag"]["total"] == 0


def wait_for(condition: Callable[[], bool], what: str, settings: Settings) -> None:
    deadline = time.monotonic() + CATCH_UP_TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            log = (settings.state_dir / "logs" / "stream.log").read_text(errors="replace")
            pytest.fail(f"{what} not reached; stream log tail:\n{log[-6000:]}")
        time.sleep(1.0)


def lake_rows(settings: Settings, table: str) -> pa.Table:
    path = f"{settings.lake_location}/{table}"
    try:
        return DeltaTable(path).to_pyarrow_table()
    except TableNotFoundError:  # nothing written yet
        return pa.table({"tweet_id": pa.array([], pa.string())})


def assert_each_tweet_once(settings: Settings, sent: int) -> None:
    """Raw rows == distinct ids == tweets sent, no dead letters, one ticket per conversation."""
    ids = lake_rows(settings, "tweets").column("tweet_id").to_pylist()
    assert len(ids) == len(set(ids)) == sent
    assert lake_rows(settings, "dead_letters").num_rows == 0
    store = TicketStore(settings.tickets_db_url)
    tickets = store.list_tickets(limit=10 * sent)
    conversations = [t.conversation_id for t in tickets]
    assert conversations and len(conversations) == len(set(conversations))
    attached = store.counts()["attached_tweets"]
    assert attached <= sent and sum(t.tweet_count for t in tickets) == attached
    store.close()


def test_a_job_killed_mid_batch_and_a_replay_leave_each_tweet_once(
    stream: Settings, tweets_csv: Path, tmp_path: Path
) -> None:
    settings = stream
    start_stream(settings)
    sent = replay(tweets_csv, settings, limit=TWEETS, progress=False).sent
    wait_for(lambda: 0 < consumed(settings) < sent, "a first batch", settings)
    job = read_state(supervisor_file(settings))["job_pid"]
    os.killpg(job, signal.SIGKILL)  # the driver, its JVM and Python workers, mid-run
    wait_for(lambda: not alive(job), "the kill", settings)

    # the supervisor starts it again; the same tweets arrive a second time
    assert replay(tweets_csv, settings, limit=TWEETS, progress=False).sent == sent
    wait_for(lambda: archived(settings, 2 * sent), "all messages", settings)
    health = stream_health(settings)
    assert health["up"] and health["restarts"] >= 1 and health["lag"]["total"] == 0
    assert_each_tweet_once(settings, sent)

    # a post run killed between posting and recording, then a normal one: none posted twice
    store = TicketStore(settings.tickets_db_url)
    sent_file = tmp_path / "x.jsonl"
    if store.replies_to_post():
        crashed = subprocess.run(
            [sys.executable, "-c", CRASHING_POSTER, settings.tickets_db_url, str(sent_file)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert crashed.returncode == -9, crashed.stderr
    post_replies(store, settings, live=True, make_client=lambda _s: RecordingX(sent_file))
    post_replies(store, settings, live=True, make_client=lambda _s: RecordingX(sent_file))
    if sent_file.exists():
        assert len(posts(sent_file)) == len(set(posts(sent_file)))
    store.close()


def announced_tickets(settings: Settings) -> set[str]:
    """Ticket ids of every message on the tickets topic."""
    consumer = KafkaConsumer(
        settings.topic_tickets,
        **settings.kafka_client_options(),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed",
        consumer_timeout_ms=5000,
    )
    try:
        return {json.loads(record.value)["ticket_id"] for record in consumer}
    finally:
        consumer.close()


def test_a_job_killed_between_the_ticket_upsert_and_its_messages_loses_and_doubles_nothing(
    stream: Settings, tweets_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the job (started by the supervisor, which passes its environment on) dies right after its
    # first ticket transaction commits, before the batch's messages reach Kafka; the restarted
    # job replays that batch from the checkpoint
    killed = tmp_path / "killed-once"
    monkeypatch.setenv(KILL_AT_ENV, TICKETS_AFTER_UPSERT)
    monkeypatch.setenv(KILL_ONCE_ENV, str(killed))
    settings = stream
    start_stream(settings)
    sent = replay(tweets_csv, settings, limit=TWEETS, progress=False).sent
    wait_for(killed.exists, "the kill point", settings)
    wait_for(lambda: archived(settings, sent), "all messages", settings)
    assert stream_health(settings)["restarts"] >= 1
    assert_each_tweet_once(settings, sent)  # no tweet applied twice, one ticket per thread
    store = TicketStore(settings.tickets_db_url)
    opened = {t.ticket_id for t in store.list_tickets(limit=10 * sent)}
    store.close()
    # the replayed batch announces the tickets its first run committed but never announced
    assert opened and announced_tickets(settings) == opened


def test_a_model_server_down_for_a_while_loses_nothing(
    stream: Settings, model_server: Settings, tweets_csv: Path
) -> None:
    settings = stream
    start_stream(settings)
    sent = replay(tweets_csv, settings, limit=TWEETS, progress=False).sent
    wait_for(lambda: consumed(settings) > 0, "a first batch", settings)
    stop_server(model_server)
    time.sleep(MODEL_OUTAGE_S)
    start_server(
        model_server,
        extra_env={"BENTOML_HOME": str(model_server.state_dir.parent / "bentoml")},
        timeout=SERVER_READY_TIMEOUT_S,
    )
    wait_for(lambda: archived(settings, sent), "all messages", settings)
    assert_each_tweet_once(settings, sent)  # no dead letters from the outage
    health: dict[str, Any] = stream_health(settings)
    # up and caught up: waited out (or, had the server taken longer than the client's whole
    # wait, restarted by the supervisor and replayed from the checkpoint)
    assert health["up"]
    assert health["lag"]["total"] == 0


def test_a_broker_restart_loses_nothing(
    stream: Settings, broker: Settings, tweets_csv: Path
) -> None:
    settings = stream
    start_stream(settings)
    first = replay(tweets_csv, settings, limit=TWEETS // 2, progress=False).sent
    wait_for(lambda: consumed(settings) > 0, "a first batch", settings)
    stop_broker(broker)
    time.sleep(5.0)
    start_broker(broker)
    everything = replay(tweets_csv, settings, limit=TWEETS, progress=False).sent
    # the first half went twice: Kafka holds it twice, the lake once
    wait_for(lambda: archived(settings, first + everything), "all messages", settings)
    assert_each_tweet_once(settings, everything)
    assert json.loads(json.dumps(stream_health(settings)))["lag"]["total"] == 0
