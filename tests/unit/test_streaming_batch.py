"""The micro-batch logic without Kafka or Spark: lake files, dead letters, tickets, replays.

The model server here is a STAND-IN: a tiny local HTTP server in a thread that answers /classify
and /model_info by a keyword rule. It exists only in this unit test; the end-to-end test runs the
real BentoML server, Kafka and spark-submit.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest

from streaming.batch import BatchProcessor
from streaming.records import KafkaRecord
from tweetcare.core.settings import Settings
from tweetcare.tickets import TicketStore

MODEL_INFO = {"name": "tweet-inbound", "version": "3", "run_id": "abc", "alias": "champion"}


class StandInModel(BaseHTTPRequestHandler):
    """Predicts "inbound" when the text asks for help; counts /classify calls."""

    calls: list[int] = []  # noqa: RUF012 - shared with the test on purpose

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        if self.path == "/classify":
            type(self).calls.append(len(body["texts"]))
            answer: Any = [self._classify(text) for text in body["texts"]]
        else:
            answer = MODEL_INFO
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    @staticmethod
    def _classify(text: str) -> dict[str, Any]:
        p = 0.9 if "help" in text.lower() else 0.2
        inbound = p >= 0.5
        return {
            "label": "inbound" if inbound else "outbound",
            "inbound": inbound,
            "probability": p if inbound else 1 - p,
            "inbound_probability": p,
        }

    def log_message(self, *_args: Any) -> None:
        pass


class CapturingPublisher:
    def __init__(self) -> None:
        self.records: list[tuple[str, str | None, dict[str, Any]]] = []
        self.flushes = 0

    def publish(self, topic: str, key: str | None, value: dict[str, Any]) -> None:
        self.records.append((topic, key, value))

    def flush(self) -> None:
        self.flushes += 1

    def on(self, topic: str) -> list[tuple[str | None, dict[str, Any]]]:
        return [(key, value) for t, key, value in self.records if t == topic]


@pytest.fixture
def model_port() -> Iterator[int]:
    StandInModel.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandInModel)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def message(tweet_id: str, conversation: str, text: str, day: int = 31) -> bytes:
    return json.dumps(
        {
            "tweet_id": tweet_id,
            "author_id": "115712",
            "inbound": "True",
            "created_at": f"Tue Oct {day} 22:10:47 +0000 2017",
            "text": text,
            "conversation_id": conversation,
        }
    ).encode()


def records(values: list[bytes | None]) -> list[KafkaRecord]:
    when = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    return [KafkaRecord(None, v, "tweets", 0, offset, when) for offset, v in enumerate(values)]


BATCH = records(
    [
        message("1", "1", "@AppleSupport help, my phone died", day=30),
        message("2", "2", "@115712 DM us and we will look"),
        message("3", "1", "@AppleSupport still need help", day=31),
        b"\xff\xfe not utf-8",
        b'{"tweet_id": "9"}',
    ]
)


def processor(tmp_path: Path, port: int, publisher: CapturingPublisher) -> BatchProcessor:
    settings = Settings(
        state_dir=tmp_path / "state",
        lake_dir=tmp_path / "lake",
        tickets_db_url=f"sqlite:///{tmp_path / 'tickets.db'}",
        bento_port=port,
    )
    return BatchProcessor(settings, stream_id="abcd1234", publisher=publisher)


def test_a_batch_lands_in_the_lake_tickets_and_dead_letters(
    tmp_path: Path, model_port: int
) -> None:
    publisher = CapturingPublisher()
    stats = processor(tmp_path, model_port, publisher).process(7, BATCH)

    assert (stats.n_messages, stats.n_valid, stats.n_dead_lettered) == (5, 3, 2)
    assert (stats.n_inbound, stats.n_outbound, stats.n_tickets_opened) == (2, 1, 1)
    assert StandInModel.calls == [3]  # one /classify call for the whole batch

    tweets = ds.dataset(tmp_path / "lake" / "tweets", partitioning="hive").to_table()
    assert sorted(tweets.column("tweet_id").to_pylist()) == ["1", "2", "3"]
    for column in ("predicted_label", "inbound_probability", "kafka_offset", "model_version"):
        assert column in tweets.column_names
    files = sorted(
        p.relative_to(tmp_path / "lake" / "tweets").as_posix()
        for p in (tmp_path / "lake" / "tweets").rglob("*.parquet")
    )
    assert files == [
        "date=2017-10-30/batch-abcd1234-00000007-0.parquet",
        "date=2017-10-31/batch-abcd1234-00000007-0.parquet",
    ]
    row = tweets.filter(ds.field("tweet_id") == "2").to_pylist()[0]
    assert (row["predicted_label"], row["inbound"], row["model_name"]) == (
        "outbound",
        True,
        "tweet-inbound",
    )

    [(key, ticket)] = publisher.on("tickets")
    assert key == "1" and ticket["tweet_count"] == 2 and ticket["brand"] == "AppleSupport"
    assert ticket["model_version"] == "3"

    letters = [value for _, value in publisher.on("tweets-dlq")]
    assert [letter["reason"] for letter in letters] == [
        "not UTF-8: invalid start byte at byte 0",
        "missing fields: author_id, created_at, text, conversation_id",
    ]
    assert letters[0]["raw"] == "//4gbm90IHV0Zi04" and letters[0]["offset"] == 3
    assert letters[1]["raw"] == '{"tweet_id": "9"}' and letters[1]["batch_id"] == 7
    lake_letters = ds.dataset(tmp_path / "lake" / "dead_letters", partitioning="hive").to_table()
    assert sorted(lake_letters.column("offset").to_pylist()) == [3, 4]


def test_replaying_a_batch_duplicates_nothing(tmp_path: Path, model_port: int) -> None:
    first = CapturingPublisher()
    processor(tmp_path, model_port, first).process(7, BATCH)
    again = CapturingPublisher()
    stats = processor(tmp_path, model_port, again).process(7, BATCH)

    assert stats.n_tickets_opened == 1  # the batch's own ticket, published again
    assert [key for key, _ in again.on("tickets")] == ["1"]
    assert ds.dataset(tmp_path / "lake" / "tweets", partitioning="hive").count_rows() == 3
    assert ds.dataset(tmp_path / "lake" / "dead_letters", partitioning="hive").count_rows() == 2
    counts = TicketStore(f"sqlite:///{tmp_path / 'tickets.db'}").counts()
    assert (counts["tickets"], counts["attached_tweets"], counts["batches"]) == (1, 2, 1)
    assert (counts["messages"], counts["dead_lettered"]) == (5, 2)


def test_a_later_batch_attaches_follow_ups(tmp_path: Path, model_port: int) -> None:
    publisher = CapturingPublisher()
    batches = processor(tmp_path, model_port, publisher)
    batches.process(0, BATCH)
    stats = batches.process(1, records([message("4", "1", "help? anyone?")]))
    assert stats.n_tickets_opened == 0
    [ticket] = TicketStore(f"sqlite:///{tmp_path / 'tickets.db'}").list_tickets(5)
    assert ticket.tweet_count == 3
