"""The HTTP client for the model server, against a real HTTP server in a thread (no mocks):
chunks in order, outages waited out, refused texts and texts that crash a model found by
splitting."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from streaming.model_client import (
    PROBE_TEXT,
    ModelServerError,
    Refused,
    analyze,
    classify,
    model_info,
)

INFO = {"name": "tweet-inbound", "version": "3", "run_id": "r", "alias": "champion"}


@dataclass
class Script:
    """What the stand-in server does: answers queued first, then the normal behaviour."""

    queued: list[tuple[int, Any]] = field(default_factory=list)
    refuse_containing: str | None = None  # any request holding such a text gets a 422
    fail_containing: str | None = None  # any request holding such a text gets a 500
    fail_everything: int = 0  # this many requests after the queued ones get a 500, whatever
    body: Any = None  # a fixed answer instead of one analysis per text
    requests: list[tuple[str, int]] = field(default_factory=list)  # (route, number of texts)
    sent: list[list[str]] = field(default_factory=list)  # the texts of each request


def analysis(text: str) -> dict[str, Any]:
    return {
        "label": "inbound",
        "probability": 0.9,
        "inbound": True,
        "inbound_probability": 0.9,
        "sentiment": "negative",
        "sentiment_score": -0.5,
        "category": "billing",
        "category_confidence": 0.8,
        "entities": [{"start": 0, "end": 3, "label": "AMOUNT", "text": "$40"}],
        "needs_ticket": True,
        "masked_text": text,
        "models": {"tweet-category": "2 (r)"},
    }


class StandIn:
    """A model server stand-in on a free loopback port that can go down and come back."""

    def __init__(self) -> None:
        self.script = Script()
        self._server: ThreadingHTTPServer | None = None
        self.start(0)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, port: int) -> None:
        script = self.script

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                texts = json.loads(self.rfile.read(length) or b"{}").get("texts", [])
                script.requests.append((self.path, len(texts)))
                script.sent.append(texts)
                status, body = 200, None
                if script.queued:
                    status, body = script.queued.pop(0)
                elif script.fail_everything:
                    script.fail_everything -= 1
                    status, body = 500, {"error": "CUDA error", "detail": texts}
                elif script.fail_containing and any(script.fail_containing in t for t in texts):
                    status, body = 500, {"error": "model crashed", "detail": texts}
                elif self.path == "/model_info":
                    body = INFO
                elif script.refuse_containing and any(script.refuse_containing in t for t in texts):
                    status, body = 422, {"error": "a text is not acceptable"}
                else:
                    body = script.body if script.body is not None else [analysis(t) for t in texts]
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def server() -> Iterator[StandIn]:
    stand_in = StandIn()
    yield stand_in
    stand_in.stop()


def test_texts_go_in_chunks_and_come_back_in_order(server: StandIn) -> None:
    results = analyze(["$40 charged", "b", "c"], server.url, max_texts=2)
    assert server.script.requests == [("/analyze", 2), ("/analyze", 1)]
    assert [r.masked_text for r in results if not isinstance(r, Refused)] == [
        "$40 charged",
        "b",
        "c",
    ]
    first = results[0]
    assert not isinstance(first, Refused)
    assert first.entities[0].label == "AMOUNT" and first.category == "billing"
    assert [r.label for r in classify(["a"], server.url, 10) if not isinstance(r, Refused)] == [
        "inbound"
    ]


def test_a_server_that_is_down_is_waited_for_and_nothing_is_lost(
    server: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    port = server.port
    server.stop()

    def come_back() -> None:
        time.sleep(2.0)
        server.start(port)

    threading.Thread(target=come_back, daemon=True).start()
    with caplog.at_level(logging.WARNING, logger="tweetcare.backoff"):
        results = analyze([f"t{n}" for n in range(5)], f"http://127.0.0.1:{port}", 2)
    assert [r.masked_text for r in results if not isinstance(r, Refused)] == [
        f"t{n}" for n in range(5)
    ]
    waits = [r.getMessage() for r in caplog.records]
    assert waits and "attempt 1, waiting 0.5s" in waits[0] and "ConnectError" in waits[0]


def test_5xx_and_busy_answers_are_waited_out(server: StandIn) -> None:
    server.script.queued = [(503, {"error": "loading"}), (502, "boom"), (429, "slow down")]
    results = analyze(["a", "b"], server.url, 10)
    assert len(results) == 2 and not any(isinstance(r, Refused) for r in results)
    assert len(server.script.requests) == 4


def test_a_server_down_for_too_long_raises_instead_of_answering(server: StandIn) -> None:
    server.script.queued = [(503, "down")] * 10
    with pytest.raises(ModelServerError, match="still unavailable after waiting 1s"):
        analyze(["a"], server.url, 10, wait_s=1.0)


def test_a_refused_chunk_is_split_until_the_refused_texts_stand_alone(server: StandIn) -> None:
    server.script.refuse_containing = "BAD"
    texts = [f"ok {n}" for n in range(16)]
    texts[3], texts[11] = "BAD one", "also BAD"
    results = analyze(texts, server.url, max_texts=8)
    refused = [n for n, r in enumerate(results) if isinstance(r, Refused)]
    assert refused == [3, 11]
    reason = results[3]
    assert isinstance(reason, Refused) and "HTTP 422" in reason.reason
    kept = [r.masked_text for r in results if not isinstance(r, Refused)]
    assert kept == [t for t in texts if "BAD" not in t]
    # two chunks of 8, each bisected down to its one bad text: log2(8) levels of two halves
    assert len(server.script.requests) == 2 * (1 + 2 * 3)


@pytest.mark.parametrize("status", [404, 405, 401])
def test_a_misconfigured_client_raises_instead_of_refusing_everything(
    server: StandIn, status: int
) -> None:
    server.script.queued = [(status, "no such route")]
    with pytest.raises(ModelServerError, match=f"refused the request: HTTP {status}"):
        analyze(["a", "b"], server.url, 10)
    assert len(server.script.requests) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([{"label": "maybe"}], "unexpected shape"),
        ([], "0 results for 1 texts"),
        ([{"inbound": True, "inbound_probability": 0.9}], "/analyze answered an unexpected"),
    ],
)
def test_unusable_answers_raise(server: StandIn, body: object, message: str) -> None:
    server.script.body = body
    with pytest.raises(ModelServerError, match=message):
        analyze(["a"], server.url, 10)


def test_model_info_returns_the_servers_object(server: StandIn) -> None:
    assert model_info(server.url) == INFO
    server.script.queued = [(503, "loading")]
    assert model_info(server.url) == INFO


def test_a_text_that_crashes_the_server_is_refused_after_the_cap_and_the_rest_analysed(
    server: StandIn,
) -> None:
    server.script.fail_containing = "POISON"
    texts = [f"ok {n}" for n in range(8)]
    texts[5] = "POISON pill from +1 555 0100"
    results = analyze(texts, server.url, max_texts=8, tries=3)
    assert [n for n, r in enumerate(results) if isinstance(r, Refused)] == [5]
    refused = results[5]
    # the status and the tries, never the server's body or the text
    assert refused == Refused("HTTP 500 after 3 tries")
    assert [r.masked_text for r in results if not isinstance(r, Refused)] == [
        t for t in texts if "POISON" not in t
    ]
    alone = [sent for sent in server.script.sent if sent == [texts[5]]]
    assert len(alone) == 3  # the cap, not one try more
    # one probe told a crashing text from a crashing server
    assert server.script.sent.count([PROBE_TEXT]) == 1


def test_a_text_that_fails_once_is_not_refused(server: StandIn) -> None:
    server.script.queued = [(500, "flaky"), (500, "flaky again")]
    results = analyze(["a", "b"], server.url, max_texts=8, tries=2)
    assert not any(isinstance(r, Refused) for r in results)
    # the pair failed, "a" failed alone once and passed on its second try, "b" passed at once
    assert server.script.sent == [["a", "b"], ["a"], ["a"], ["b"]]


def test_a_server_failing_every_text_is_waited_out_not_dead_lettered(server: StandIn) -> None:
    server.script.fail_everything = 7  # the chunk, each half, "a" alone twice, two probes
    results = analyze(["a", "b"], server.url, max_texts=8, tries=2)
    assert not any(isinstance(r, Refused) for r in results)
    assert [r.masked_text for r in results if not isinstance(r, Refused)] == ["a", "b"]


def test_a_server_failing_every_text_for_too_long_raises(server: StandIn) -> None:
    server.script.fail_everything = 10_000
    with pytest.raises(ModelServerError, match="still failing after waiting 1s"):
        analyze(["a", "b", "c"], server.url, max_texts=8, tries=2, wait_s=1.0)


def test_a_failing_model_info_is_waited_out(server: StandIn) -> None:
    server.script.queued = [(500, "starting")]
    assert model_info(server.url) == INFO
