"""The real streaming job under spark-submit against a real Kafka broker.

The first tests send only malformed messages, so the job never needs the model server: they
check the Kafka source, dead-lettering to the DLQ topic and the lake, batch statistics, a clean
stop and a restart that resumes from the checkpoint. The last one runs the real `bentoml serve`
(/analyze over a throw-away registry with every model the pipeline registers) and checks what
the ticket rules made of generated threads: routing, SLAs, follow-ups, brand responses, drafted
replies on the `replies` topic and the lake partitioned by date.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from kafka import KafkaConsumer, KafkaProducer
from typer.testing import CliRunner

from tests.fixtures.kafka import free_ports
from tweetcare.cli import app
from tweetcare.cli.stream import start_stream, stop_stream
from tweetcare.core.settings import Settings
from tweetcare.core.storage import DEAD_LETTERS_TABLE, TWEETS_TABLE, open_table, read_table
from tweetcare.data.generator import write_dataset
from tweetcare.kafka.replay import replay
from tweetcare.kafka.topics import ensure_topics
from tweetcare.process import Service
from tweetcare.summary import collect_summary
from tweetcare.tickets import TicketStore
from tweetcare.tickets.models import utc
from tweetcare.tickets.replies import load_replies
from tweetcare.tickets.routing import load_routing

pytestmark = pytest.mark.integration

# generous: Spark starts slowly on a shared two-core machine
PROCESSING_TIMEOUT_S = 900.0


def own_settings(kafka_broker: Settings, tmp_path: Path, model_port: int) -> Settings:
    """The shared broker, with this test's own topics, state, lake and ticket database."""
    return Settings(
        **{
            **kafka_broker.model_dump(),
            "state_dir": tmp_path / "state",
            "lake_dir": tmp_path / "lake",
            "tickets_db_url": f"sqlite:///{tmp_path / 'tickets.db'}",
            # this test's own topics: other tests share the broker and its default topics
            "topic_tweets": f"{tmp_path.name}-tweets",
            "topic_tickets": f"{tmp_path.name}-tickets",
            "topic_dlq": f"{tmp_path.name}-dlq",
            "topic_replies": f"{tmp_path.name}-replies",
            "bento_port": model_port,
            "trigger_seconds": 1.0,
        }
    )


@pytest.fixture
def stream_settings(kafka_broker: Settings, tmp_path: Path) -> Iterator[Settings]:
    (model_port,) = free_ports(1)  # nothing listens: a model call would fail the batch
    # compaction after every batch, so the restart test sees one (the default is every 50)
    settings = own_settings(kafka_broker, tmp_path, model_port).model_copy(
        update={"lake_compact_every": 1}
    )
    ensure_topics(settings)
    yield settings
    stop_stream(settings)


def send(settings: Settings, values: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    for value in values:
        producer.send(settings.topic_tweets, value=value)
    producer.flush()
    producer.close()


def wait_for_messages(settings: Settings, expected: int) -> dict[str, int]:
    """Poll the batch statistics until `expected` messages are counted (fails on timeout)."""
    store = TicketStore(settings.tickets_db_url)
    service = Service("stream", settings.state_dir)
    deadline = time.monotonic() + PROCESSING_TIMEOUT_S
    counts = store.counts()
    while counts["messages"] < expected and time.monotonic() < deadline:
        assert service.is_running(), service.log_tail()
        time.sleep(1.0)
        counts = store.counts()
    store.close()
    return counts


def dlq_reasons(settings: Settings, expected: int) -> list[str]:
    consumer = KafkaConsumer(
        settings.topic_dlq,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=10_000,
    )
    reasons = []
    for record in consumer:
        reasons.append(json.loads(record.value)["reason"])
        if len(reasons) >= expected:
            break
    consumer.close()
    return sorted(reasons)


def test_the_job_dead_letters_and_resumes_from_its_checkpoint(stream_settings: Settings) -> None:
    settings = stream_settings
    send(settings, [b"{broken", b"[1]", json.dumps({"tweet_id": "1"}).encode()])
    start_stream(settings)
    start_stream(settings)  # idempotent: still one job
    counts = wait_for_messages(settings, 3)
    assert (counts["messages"], counts["dead_lettered"], counts["valid"]) == (3, 3, 0)
    assert dlq_reasons(settings, 3) == [
        "missing fields: author_id, created_at, text, conversation_id",
        "not JSON: Expecting property name enclosed in double quotes at line 1 column 2",
        "not a JSON object: got an array",
    ]
    assert stop_stream(settings) is True
    service = Service("stream", settings.state_dir)
    assert not service.is_running()
    assert "stream stopped" in service.log_tail(200)  # left through the stop file, not killed

    send(settings, [b"\xff", b"null"])
    start_stream(settings)
    counts = wait_for_messages(settings, 5)
    assert counts["messages"] == 5  # resumed after the first three instead of re-reading them
    letters = read_table(settings, DEAD_LETTERS_TABLE)
    assert letters is not None
    assert sorted(letters.column("raw").to_pylist()) == sorted(
        ["{broken", "[1]", '{"tweet_id": "1"}', "/w==", "null"]
    )
    # the job writes its progress file after the batch's outputs: wait for the second batch's
    progress_file = settings.state_dir / "stream.progress.json"
    deadline = time.monotonic() + 120
    while True:
        progress = json.loads(progress_file.read_text())
        done = sum(progress["end_offsets"][settings.topic_tweets].values())
        if done == 5 or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    assert done == 5
    assert progress["last_error"] is None
    assert stop_stream(settings) is True
    # the batches' small files were bin-packed: one file per date, the same five rows
    table = open_table(settings, DEAD_LETTERS_TABLE)
    assert table is not None
    assert "OPTIMIZE" in {entry["operation"] for entry in table.history()}
    # statistics only on the merge key (the default's 32 columns cost the job more than the merge)
    assert (
        table.metadata().configuration["delta.dataSkippingStatsColumns"] == "topic,partition,offset"
    )
    dates = set(letters.column("date").to_pylist())
    assert len(table.file_uris()) == len(dates)
    assert table.to_pyarrow_table().num_rows == 5


def test_a_model_server_that_is_down_is_waited_out_and_loses_nothing(
    stream_settings: Settings,
) -> None:
    settings = stream_settings
    valid = {
        "tweet_id": "10",
        "author_id": "115712",
        "inbound": True,
        "created_at": "Tue Oct 31 22:10:47 +0000 2017",
        "text": "@AppleSupport my phone died",
        "conversation_id": "10",
    }
    send(settings, [json.dumps(valid).encode()])
    start_stream(settings)
    service = Service("stream", settings.state_dir)
    deadline = time.monotonic() + PROCESSING_TIMEOUT_S
    while "unavailable" not in service.log_tail(400) and time.monotonic() < deadline:
        assert service.is_running(), service.log_tail()
        time.sleep(1.0)
    assert "unavailable" in service.log_tail(400)  # the executor waits for the server
    assert service.is_running()
    counts = TicketStore(settings.tickets_db_url).counts()
    assert counts["messages"] == 0  # no batch recorded: nothing skipped, nothing dead-lettered
    letters = read_table(settings, DEAD_LETTERS_TABLE)
    assert letters is None or letters.num_rows == 0


# generated tweets replayed through the whole path: enough for threads with follow-ups and replies
REPLAYED = 160


@pytest.fixture
def analysed_stream(
    kafka_broker: Settings,
    bento_server: Callable[..., str],
    full_registry: str,
    tmp_path: Path,
) -> Iterator[Settings]:
    """The stream job reaching the real model server's /analyze."""
    port = urlparse(bento_server(full_registry)).port
    assert port is not None
    settings = own_settings(kafka_broker, tmp_path, port)
    ensure_topics(settings)
    yield settings
    stop_stream(settings)


def read_topic(settings: Settings, topic: str) -> list[dict[str, Any]]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5_000,
    )
    values = [json.loads(record.value) for record in consumer]
    consumer.close()
    return values


def test_analysed_tweets_become_routed_tickets_responses_and_replies(
    analysed_stream: Settings, full_registry: str, tmp_path: Path
) -> None:
    settings = analysed_stream
    csv, _ = write_dataset(tmp_path / "data", rows=600, seed=3)
    start_stream(settings)
    sent = replay(csv, settings, limit=REPLAYED, progress=False).sent
    wait_for_messages(settings, sent)
    summary = collect_summary(settings, replayed=sent)
    assert summary.problems() == [] and summary.lake_rows == REPLAYED

    table = open_table(settings, TWEETS_TABLE)
    assert table is not None
    assert table.metadata().partition_columns == ["date"]
    # compaction is the job's, every lake_compact_every batches: not Delta's after every commit
    assert "delta.autoOptimize.autoCompact" not in table.metadata().configuration
    lake = table.to_pyarrow_table().to_pandas()
    customer = lake[lake.predicted_inbound]
    assert customer.category.notna().all() and customer.sentiment.notna().all()
    assert all(len(dict(models)) == 4 for models in customer.models)  # inbound + 3 analysis
    assert not lake.text.str.contains(r"[\w.]+@[\w-]+\.com", regex=True).any()  # emails masked
    # the registry's challenger scored every tweet in shadow; its answers are kept, not used
    assert set(lake.shadow_model_version) == {"2"} and lake.shadow_inbound.notna().all()
    assert (lake.shadow_inbound != lake.predicted_inbound).any()  # a weaker model, not a copy
    env = {**settings.to_env(), "TWEETCARE_MLFLOW_TRACKING_URI": full_registry}
    shown = CliRunner().invoke(app, ["models", "shadow-report", "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.output)
    (pair,) = report["pairs"]
    assert (pair["champion_version"], pair["challenger_version"]) == ("1", "2")
    assert pair["tweets"] == pair["labelled"] == REPLAYED
    agree = (lake.shadow_inbound == lake.predicted_inbound).mean()
    assert pair["agreement"] == pytest.approx(agree)
    assert pair["champion_accuracy"] == pytest.approx(
        (lake.predicted_inbound == lake.inbound).mean()
    )

    store = TicketStore(settings.tickets_db_url)
    tickets = store.list_tickets(limit=10 * REPLAYED)
    routing = load_routing(settings.routing_config)
    templates = load_replies(settings.replies_config)
    # one ticket per conversation whose customer asked for something, none for the others
    asking = set(customer.loc[customer.needs_ticket, "conversation_id"])
    assert {t.conversation_id for t in tickets} == asking and tickets
    assert sum(t.tweet_count for t in tickets) == store.counts()["attached_tweets"]
    for ticket in tickets:
        rows = lake[lake.conversation_id == ticket.conversation_id]
        # the opening tweet's language picks a language queue, else the category's team
        (language,) = rows.loc[rows.tweet_id == ticket.first_tweet_id, "language"]
        assert ticket.team == routing.team_for(ticket.category, ticket.brand, language)
        due = utc(ticket.sla_due_at) - utc(ticket.opened_at)  # the SLA clock starts at opening
        assert due == timedelta(minutes=routing.sla_minutes[ticket.priority])
        assert set(rows.ticket_id) == {ticket.ticket_id}
        answers = rows[~rows.predicted_inbound & (rows.created_at >= utc(ticket.created_at))]
        assert (ticket.first_response_at is not None) == (not answers.empty)
        if not answers.empty:
            first = answers.sort_values("created_at").iloc[0]
            assert ticket.first_response_tweet_id == first.tweet_id
            assert ticket.first_response_seconds == pytest.approx(
                (first.created_at - utc(ticket.created_at)).total_seconds()
            )
    assert any(t.status == "responded" for t in tickets)
    assert any(t.tweet_count > 1 for t in tickets)  # a follow-up attached to its ticket

    # one drafted acknowledgement per ticket; the confident ones went out on `replies`
    drafted = store.list_replies(limit=10 * REPLAYED)
    assert sorted(r.ticket_id for r in drafted) == sorted(t.ticket_id for t in tickets)
    by_ticket = {t.ticket_id: t for t in tickets}
    # the stream's tasks wrote them at once: the database numbered each one, none twice
    assert sorted(t.ticket_number for t in tickets) == list(range(1, len(tickets) + 1))
    for reply in drafted:
        ticket = by_ticket[reply.ticket_id]  # the public reply names its number (#N), not its id
        assert reply.text == templates.render(ticket.category, ticket.reference)
        assert (reply.decision == "auto") == (reply.gate_reasons == [])
    published = read_topic(settings, settings.topic_replies)
    auto = sorted(r.reply_id for r in drafted if r.decision == "auto")
    assert sorted({r["reply_id"] for r in published}) == auto
    published_tickets = {t["ticket_id"] for t in read_topic(settings, settings.topic_tickets)}
    assert published_tickets == set(by_ticket)
    store.close()

    # a person approves a held reply: it goes out on `replies` like the automatic ones
    held = [r.reply_id for r in drafted if r.decision == "pending"]
    if held:
        result = CliRunner().invoke(app, ["replies", "approve", held[0]], env=settings.to_env())
        assert result.exit_code == 0, result.output
        approved = [
            r for r in read_topic(settings, settings.topic_replies) if r["reply_id"] == held[0]
        ]
        assert [r["decision"] for r in approved] == ["approved"]

    # the same tweets again (a re-sent replay): no second raw row, no second ticket
    again = replay(csv, settings, limit=REPLAYED, progress=False).sent
    wait_for_messages(settings, sent + again)
    after = collect_summary(settings, replayed=sent + again)
    assert after.lake_rows == after.distinct_tweets == REPLAYED
    assert after.tickets_opened == len(tickets)
    table = open_table(settings, TWEETS_TABLE)
    # version 0 is the empty table the job creates; each batch with new tweets merges a version
    # (a re-sent batch with nothing new may not commit one)
    assert table is not None and table.version() >= 1
    before = read_table(settings, TWEETS_TABLE, version=0)  # time travel
    assert before is not None and before.num_rows == 0
