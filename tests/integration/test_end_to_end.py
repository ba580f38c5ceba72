"""The whole path on the real stack, as `make demo` runs it, at test size.

`dvc repro` has trained and registered the champions in a throwaway project (generated data,
tiny profile, its own MLflow registry: the session's `trained_project`); then the real Kafka
broker, `bentoml serve` and the `spark-submit` job take ~200 tweets and a few malformed messages
to tickets, the lake and the dead letters, and the figures must reconcile.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from serving.launcher import start_server, stop_server
from tests.fixtures.kafka import free_ports
from tests.fixtures.project import tracking_uri
from tests.fixtures.registry import INBOUND_ACCURACY_FLOOR
from tweetcare.cli.stream import start_stream, stop_stream
from tweetcare.core.settings import Settings
from tweetcare.core.storage import read_table
from tweetcare.kafka.replay import publish_raw, replay
from tweetcare.kafka.topics import ensure_topics
from tweetcare.process import Service
from tweetcare.summary import collect_summary
from tweetcare.tickets import TicketStore

pytestmark = pytest.mark.integration

REPLAYED = 200
MALFORMED = [
    b"not json at all",
    b'{"tweet_id": "m1", "author_id": "42"}',
    b"[1, 2, 3]",
    b"\xff\xfe not utf-8",
    (
        b'{"tweet_id": "m2", "author_id": "42", "inbound": "maybe", "created_at": "x", '
        b'"text": "hi", "conversation_id": "m2"}'
    ),
]
# generous: Spark and the model server share two cores with the rest of the suite
PROCESSING_TIMEOUT_S = 420.0


@pytest.fixture
def stack(kafka_broker: Settings, trained_project: Path, tmp_path: Path) -> Iterator[Settings]:
    """The shared broker with this test's topics, plus a model server and the stream job."""
    (bento_port,) = free_ports(1)
    settings = Settings(
        **{
            **kafka_broker.model_dump(),
            "state_dir": tmp_path / "state",
            "lake_dir": tmp_path / "lake",
            "tickets_db_url": f"sqlite:///{tmp_path / 'tickets.db'}",
            "topic_tweets": f"{tmp_path.name}-tweets",
            "topic_tickets": f"{tmp_path.name}-tickets",
            "topic_replies": f"{tmp_path.name}-replies",
            "topic_dlq": f"{tmp_path.name}-dlq",
            "mlflow_tracking_uri": tracking_uri(trained_project),
            "bento_port": bento_port,
            "trigger_seconds": 1.0,
        }
    )
    ensure_topics(settings)
    try:
        start_server(settings, extra_env={"BENTOML_HOME": str(tmp_path / "bentoml")})
        start_stream(settings)
        yield settings
    finally:
        stop_stream(settings)
        stop_server(settings)


def wait_for_messages(settings: Settings, expected: int) -> dict[str, int]:
    store = TicketStore(settings.tickets_db_url)
    job = Service("stream", settings.state_dir)
    deadline = time.monotonic() + PROCESSING_TIMEOUT_S
    counts = store.counts()
    while counts["messages"] < expected:
        assert job.is_running(), job.log_tail(60)
        assert time.monotonic() < deadline, f"{counts} after {PROCESSING_TIMEOUT_S}s"
        time.sleep(1.0)
        counts = store.counts()
    store.close()
    return counts


def lake_table(settings: Settings, name: str) -> pd.DataFrame:
    table = read_table(settings, name)
    assert table is not None, f"no Delta table {name}"
    return table.to_pandas()


def test_tweets_flow_through_kafka_spark_and_bentoml_to_tickets_and_the_lake(
    stack: Settings, trained_project: Path
) -> None:
    settings = stack
    csv = trained_project / "data" / "twcs.csv"

    sent = replay(csv, settings, limit=REPLAYED, progress=False).sent
    sent += publish_raw(settings, MALFORMED)
    assert sent == REPLAYED + len(MALFORMED)
    counts = wait_for_messages(settings, sent)

    summary = collect_summary(settings, replayed=sent)
    assert summary.problems() == []
    assert (summary.lake_rows, summary.dead_lettered) == (REPLAYED, len(MALFORMED))
    assert counts["valid"] == REPLAYED

    tweets = lake_table(settings, "tweets")
    replayed_ids = set(pd.read_csv(csv, dtype=str).sort_values("created_at").tweet_id)
    assert set(tweets.tweet_id) <= replayed_ids
    # the champion, served over HTTP, tells customers from brands on tweets it never saw
    assert (tweets.predicted_inbound == tweets.inbound).mean() >= INBOUND_ACCURACY_FLOOR
    assert set(tweets.model_version) == {"1"}

    # one ticket per conversation with a customer tweet that needs one; none for brand threads
    customer_threads = set(
        tweets.loc[tweets.predicted_inbound & tweets.needs_ticket, "conversation_id"]
    )
    store = TicketStore(settings.tickets_db_url)
    tickets = store.list_tickets(limit=10 * REPLAYED)
    assert summary.tickets_opened == len(customer_threads) > 0
    assert {t.conversation_id for t in tickets} == customer_threads
    store.close()

    letters = lake_table(settings, "dead_letters")
    reasons = " | ".join(sorted(letters.reason))
    for expected in (
        "not JSON",
        "missing fields",
        "not a JSON object",
        "not UTF-8",
        "bad inbound",
    ):
        assert expected.lower() in reasons.lower(), reasons

    # the same tweets again (a producer retry, a replayed topic) open no second ticket
    again = replay(csv, settings, limit=50, progress=False).sent
    wait_for_messages(settings, sent + again)
    after = collect_summary(settings, replayed=sent + again)
    assert after.tickets_opened == summary.tickets_opened
    # raw rows: the second copy of each tweet was merged away, not hidden by a distinct count
    assert after.lake_rows == after.distinct_tweets == summary.lake_rows
    assert f"tickets opened: {summary.tickets_opened}" in after.lines()
