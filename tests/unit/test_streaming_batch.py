"""The executors' work without Kafka or Spark: the function `mapInArrow` runs in each task, fed
Arrow batches as Spark would, turning records into lake rows, tickets, messages, dead letters.

The model server here is a STAND-IN: a tiny local HTTP server in a thread that answers /analyze
and /model_info by keyword rules. It exists only in this unit test; the end-to-end test runs the
real BentoML server, Kafka and spark-submit.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from streaming import lake
from streaming.batch import JobContext, PartitionProcessor, record_stats, score_partitions
from streaming.job import check_outputs, ensure_lake_topics
from streaming.lake import lineage_of
from streaming.records import KafkaRecord
from tests.fixtures.bento import free_port
from tweetcare.core.errors import UserError
from tweetcare.core.pii import mask_pii
from tweetcare.core.schemas import Analysis
from tweetcare.core.settings import Settings
from tweetcare.tickets import TicketStore
from tweetcare.tickets.models import ticket_id_for
from tweetcare.tickets.replies import load_replies
from tweetcare.tickets.routing import load_routing

INBOUND_INFO = {"name": "tweet-inbound", "version": "3", "run_id": "abc", "alias": "champion"}
# the server's shape: the inbound model at the top level, every served model under `models`
MODEL_INFO = {
    **INBOUND_INFO,
    "data_version": "d41d8cd9",
    "models": {
        "tweet-inbound": {**INBOUND_INFO, "data_version": "d41d8cd9"},
        "tweet-category": {"name": "tweet-category", "version": "5", "data_version": "d41d8cd9"},
    },
}


@dataclass(frozen=True)
class Refused:
    """The shape of the model client's refusal of one text (a 4xx found by bisection)."""

    reason: str


MODELS = {"tweet-inbound": "3 (abc)", "tweet-category": "5 (def)"}
_ORDER = re.compile(r"#\d{3}-\d{5}")


class StandInModel(BaseHTTPRequestHandler):
    """Inbound when the text asks for help; category and sentiment by keyword; counts calls."""

    calls: list[int] = []  # noqa: RUF012 - shared with the test on purpose

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        if self.path == "/analyze":
            type(self).calls.append(len(body["texts"]))
            answer: Any = [self._analyze(text) for text in body["texts"]]
        elif self.path == "/model_info":
            answer = MODEL_INFO
        else:
            self.send_error(404)
            return
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    @staticmethod
    def _analyze(text: str) -> dict[str, Any]:
        lowered = text.lower()
        p = 0.95 if "help" in lowered or "thanks" in lowered else 0.05
        masked = mask_pii(text)
        if p < 0.5:
            return {
                "inbound": False,
                "inbound_probability": p,
                "needs_ticket": False,
                "masked_text": masked,
                "models": {"tweet-inbound": MODELS["tweet-inbound"]},
            }
        entities = [
            {"start": m.start(), "end": m.end(), "label": "ORDER_ID", "text": m.group()}
            for m in _ORDER.finditer(text)
        ]
        praise = "thanks" in lowered
        return {
            "inbound": True,
            "inbound_probability": p,
            "sentiment": "positive" if praise else "negative",
            "sentiment_score": 0.8 if praise else -0.7,
            "category": "praise" if praise else "delivery",
            "category_confidence": 0.95 if "order" in lowered or praise else 0.5,
            "entities": entities,
            "language": "en",
            "flags": [],
            "needs_ticket": not praise,
            "masked_text": masked,
            "models": MODELS,
        }

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def model_port() -> Iterator[int]:
    StandInModel.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandInModel)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def message(
    tweet_id: str,
    conversation: str,
    text: str,
    day: int = 31,
    minute: int = 10,
    author: str = "115712",
) -> bytes:
    return json.dumps(
        {
            "tweet_id": tweet_id,
            "author_id": author,
            "inbound": "True" if author.isdigit() else "False",
            "created_at": f"Tue Oct {day} 22:{minute:02d}:47 +0000 2017",
            "text": text,
            "conversation_id": conversation,
        }
    ).encode()


def records(values: list[bytes | None]) -> list[KafkaRecord]:
    when = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    return [KafkaRecord(None, v, "tweets", 0, offset, when) for offset, v in enumerate(values)]


BATCH = records(
    [
        message(
            "1", "1", "@AppleSupport help, my order #112-99812 died, call 020 7946 0958", day=30
        ),
        message(
            "2", "1", "@115712 Sorry! DM us and we will look ^JK", day=31, author="AppleSupport"
        ),
        message("3", "1", "@AppleSupport still need help", day=31, minute=20),
        message("4", "4", "@AppleSupport thanks, you are great", day=31),
        b"\xff\xfe not utf-8",
        b'{"tweet_id": "9"}',
    ]
)


class Output:
    """What one partition handed back to Spark, by kind."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [row for row in self.rows if row["kind"] == kind]

    def tweets(self) -> dict[str, dict[str, Any]]:
        return {row["tweet_id"]: row for row in self.of(lake.KIND_TWEET)}

    def on(self, topic: str) -> list[tuple[str | None, dict[str, Any]]]:
        return [
            (row["out_key"], json.loads(row["out_value"]))
            for row in self.of(lake.KIND_MESSAGE)
            if row["out_topic"] == topic
        ]


def settings_for(tmp_path: Path, port: int) -> Settings:
    return Settings(
        state_dir=tmp_path / "state",
        lake_dir=tmp_path / "lake",
        tickets_db_url=f"sqlite:///{tmp_path / 'tickets.db'}",
        bento_port=port,
    )


def run_partition(tmp_path: Path, port: int, batch_id: int, batch: list[KafkaRecord]) -> Output:
    """One task as Spark runs it, then the driver's stats write that follows the outputs."""
    settings = settings_for(tmp_path, port)
    TicketStore(settings.tickets_db_url).create_schema()
    context = JobContext(
        settings,
        load_routing(settings.routing_config),
        load_replies(settings.replies_config),
        "abcd1234",
    )
    arrow = pa.RecordBatch.from_pylist(
        [
            {
                "key": r.key,
                "value": r.value,
                "topic": r.topic,
                "partition": r.partition,
                "offset": r.offset,
                "timestamp_us": int(r.timestamp.timestamp() * 1e6) if r.timestamp else None,
            }
            for r in batch
        ]
    )
    out = list(score_partitions(context, batch_id)(iter([arrow])))
    rows = [row for b in out for row in b.to_pylist()]
    for b in out:
        assert b.schema == lake.OUTPUT_SCHEMA
    stats = [(r["out_key"], r["out_value"]) for r in rows if r["kind"] == lake.KIND_STATS]
    record_stats(TicketStore(settings.tickets_db_url), stats)
    return Output(rows)


def stats_of(output: Output) -> dict[str, Any]:
    [row] = output.of(lake.KIND_STATS)
    return json.loads(row["out_value"])


def test_a_batch_lands_in_the_lake_tickets_replies_and_dead_letters(
    tmp_path: Path, model_port: int
) -> None:
    output = run_partition(tmp_path, model_port, 7, BATCH)

    stats = stats_of(output)
    assert (stats["n_messages"], stats["n_valid"], stats["n_dead_lettered"]) == (6, 4, 2)
    assert (stats["n_inbound"], stats["n_outbound"], stats["n_tickets_opened"]) == (3, 1, 1)
    assert output.of(lake.KIND_STATS)[0]["out_key"] == "abcd1234-00000007-p0"
    # the partition's lake rows travel under the same key, so its statistics arrive after them
    lake_rows = output.of(lake.KIND_TWEET) + output.of(lake.KIND_DEAD)
    assert {row["out_key"] for row in lake_rows} == {"abcd1234-00000007-p0"}
    assert StandInModel.calls == [4]  # one /analyze call for the whole partition

    rows = output.tweets()
    assert sorted(rows) == ["1", "2", "3", "4"]
    assert {(r["date"], r["brand"]) for r in rows.values()} == {
        ("2017-10-30", "AppleSupport"),
        ("2017-10-31", "AppleSupport"),
    }
    first = rows["1"]
    assert first["text"] == "@AppleSupport help, my order #112-99812 died, call <phone>"
    assert (first["category"], first["sentiment"], first["needs_ticket"]) == (
        "delivery",
        "negative",
        True,
    )
    assert first["entities"] == [
        {"start": 29, "end": 39, "label": "ORDER_ID", "text": "#112-99812"}
    ]
    assert dict(first["models"]) == MODELS
    assert (first["model_version"], first["data_version"]) == ("3", "d41d8cd9")
    assert first["ticket_id"] == rows["2"]["ticket_id"] == ticket_id_for("1")
    assert rows["2"]["predicted_label"] == "outbound" and rows["2"]["category"] is None
    assert rows["4"]["ticket_id"] is None  # praise opens no ticket

    [(key, ticket)] = output.on("tickets")
    assert key == "1" and ticket["tweet_count"] == 2 and ticket["brand"] == "AppleSupport"
    assert ticket["message_id"].startswith(f"ticket:{ticket['ticket_id']}:")
    assert (ticket["team"], ticket["priority"], ticket["category"]) == (
        "logistics",
        "high",
        "delivery",
    )
    assert ticket["status"] == "open"  # answered by the brand, then the customer wrote again
    assert ticket["first_response_seconds"] == 24 * 3600  # Oct 30 22:10 -> Oct 31 22:10
    assert ticket["models"] == MODELS and ticket["data_version"] == "d41d8cd9"
    assert "<phone>" in ticket["text"]

    [(reply_key, reply)] = output.on("replies")
    assert reply_key == "1" and reply["decision"] == "auto"
    assert reply["message_id"] == f"reply:{reply['reply_id']}:auto"
    # the public reply names the ticket's short number, never its internal id
    assert f"ticket #{ticket['ticket_number']}" in reply["text"] and len(reply["text"]) < 280
    assert ticket_id_for("1") not in reply["text"]
    assert "#112-99812" not in reply["text"] and "0958" not in reply["text"]

    letters = [value for _, value in output.on("tweets-dlq")]
    assert [letter["reason"] for letter in letters] == [
        "not UTF-8: invalid start byte at byte 0",
        "missing fields: author_id, created_at, text, conversation_id",
    ]
    assert letters[0]["raw"] == "//4gbm90IHV0Zi04" and letters[0]["offset"] == 4
    assert letters[0]["message_id"] == "dlq:tweets:0:4"
    assert letters[1]["raw"] == '{"tweet_id": "9"}' and letters[1]["batch_id"] == 7
    assert sorted(r["offset"] for r in output.of(lake.KIND_DEAD)) == [4, 5]


def test_replaying_a_batch_duplicates_nothing(tmp_path: Path, model_port: int) -> None:
    first = run_partition(tmp_path, model_port, 7, BATCH)
    again = run_partition(tmp_path, model_port, 7, BATCH)

    assert stats_of(again)["n_tickets_opened"] == 1  # the batch's own ticket, published again
    assert [key for key, _ in again.on("tickets")] == ["1"]
    assert again.on("replies") == first.on("replies")
    assert again.on("tickets") == first.on("tickets")  # same message ids: consumers drop them
    counts = TicketStore(f"sqlite:///{tmp_path / 'tickets.db'}").counts()
    assert (counts["tickets"], counts["attached_tweets"], counts["batches"]) == (1, 2, 1)
    assert (counts["messages"], counts["dead_lettered"]) == (6, 2)


def test_a_tweet_twice_in_a_partition_becomes_one_row(tmp_path: Path, model_port: int) -> None:
    twice = records([message("1", "1", "@AppleSupport help me"), message("1", "1", "@A help me")])
    output = run_partition(tmp_path, model_port, 0, twice)
    assert list(output.tweets()) == ["1"] and output.of(lake.KIND_DEAD) == []


def test_a_later_batch_attaches_follow_ups_and_brand_replies_respond(
    tmp_path: Path, model_port: int
) -> None:
    run_partition(tmp_path, model_port, 0, BATCH)
    later = run_partition(
        tmp_path, model_port, 1, records([message("5", "1", "help? anyone?", minute=30)])
    )
    assert stats_of(later)["n_tickets_opened"] == 0
    reply = records([message("6", "1", "@115712 On it! ^JK", minute=40, author="AppleSupport")])
    last = run_partition(tmp_path, model_port, 2, reply)
    store = TicketStore(f"sqlite:///{tmp_path / 'tickets.db'}")
    [ticket] = store.list_tickets(5)
    assert (ticket.tweet_count, ticket.status) == (3, "responded")
    assert ticket.first_response_tweet_id == "2"  # the first answer stays the first
    assert last.on("tickets")[-1][1]["status"] == "responded"
    assert later.on("replies") == last.on("replies") == []  # one acknowledgement per ticket


def test_an_unconfident_reply_waits_for_approval(tmp_path: Path, model_port: int) -> None:
    unsure = records([message("1", "1", "@AppleSupport help, it is late")])  # no order: 0.5
    output = run_partition(tmp_path, model_port, 0, unsure)
    assert output.on("replies") == []
    [pending] = TicketStore(f"sqlite:///{tmp_path / 'tickets.db'}").list_replies("pending")
    assert pending.gate_reasons == ["category confidence 0.50 < 0.80"]


def test_a_refused_text_is_dead_lettered_and_the_rest_goes_on(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, 1)
    store = TicketStore(settings.tickets_db_url)
    store.create_schema()
    context = JobContext(
        settings, load_routing(settings.routing_config), load_replies(settings.replies_config), "s"
    )

    def analyzer(texts: list[str]) -> list[Any]:
        return [
            Refused("HTTP 422: text too long")
            if "refuse" in t
            else Analysis(**StandInModel._analyze(t))
            for t in texts
        ]

    batch = records([message("1", "1", "@A help"), message("2", "2", "@A help refuse me")])
    result = PartitionProcessor(context, store, analyzer, lambda: lineage_of(MODEL_INFO)).process(
        3, batch
    )
    assert [r["tweet_id"] for r in result.rows if r["kind"] == lake.KIND_TWEET] == ["1"]
    [dead] = [r for r in result.rows if r["kind"] == lake.KIND_DEAD]
    assert dead["reason"] == "refused by the model server: HTTP 422: text too long"
    assert dead["offset"] == 1
    store.close()


def test_the_job_refuses_bad_rules_before_reading_kafka(tmp_path: Path) -> None:
    good = Settings(tickets_db_url=f"sqlite:///{tmp_path / 'tickets.db'}")
    check_outputs(good)
    assert (tmp_path / "tickets.db").exists()
    (tmp_path / "routing.yaml").write_text("teams: {}\n")
    with pytest.raises(UserError, match="bad routing rules"):
        check_outputs(good.model_copy(update={"routing_config": tmp_path / "routing.yaml"}))


def test_a_broker_down_at_start_does_not_keep_the_job_from_starting(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(kafka_host="127.0.0.1", kafka_port=free_port(), topic_tweets="shop")
    with caplog.at_level("WARNING", logger="tweetcare.stream"):
        ensure_lake_topics(settings)  # the queries wait for the broker; no exit here
    assert "could not check the topics shop, shop-lake" in caplog.text


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        (MODEL_INFO, ("tweet-inbound", "3", "d41d8cd9")),
        (INBOUND_INFO, ("tweet-inbound", "3", None)),  # a server that reports no data version
        (
            {**INBOUND_INFO, "models": {"a": {"data_version": "v2"}, "b": {"data_version": "v1"}}},
            ("tweet-inbound", "3", "v1,v2"),
        ),
        ({}, (None, None, None)),
    ],
)
def test_lineage_from_model_info(info: dict[str, Any], expected: tuple) -> None:
    found = lineage_of(info)
    assert (found.model_name, found.model_version, found.data_version) == expected


def test_rows_are_checked_against_the_lake_schema_together_and_a_bad_one_is_found() -> None:
    schema = pa.schema([("n", pa.int32()), ("s", pa.string())])
    rows = [{"n": 1, "s": "a"}, {"n": 2**40, "s": "b"}, {"n": 3, "s": None}, {"n": "x", "s": "c"}]
    assert lake.valid_rows(rows, schema) == [True, False, True, False]
    assert lake.valid_rows([rows[0], rows[2]], schema) == [True, True]
    assert lake.valid_rows([], schema) == []
