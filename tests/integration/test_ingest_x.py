"""`tweetcare ingest x` against a local X API v2 stand-in and the real Kafka broker.

The stand-in drops the first stream mid-way, answers the next connection with a 429 whose
window reopens in a few seconds, the next with a 503, and redelivers a tweet on the fourth;
the mention poll returns one tweet the stream also carries. Each tweet must reach `tweets`
once, keyed by its conversation, in replay's message format, after X's backoff.

A broker outage and a kill -9 lose nothing: tweets read while the broker is down wait in the
outbox and go first when a run starts again, and the mentions cursor on disk never gets ahead
of what Kafka acknowledged.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer

from tests.fixtures.kafka import broker_settings
from tests.fixtures.x_standin import KEEP_ALIVE, Episode, XStandIn, stream_tweet
from tweetcare.core.schemas import TweetMessage
from tweetcare.core.settings import Settings
from tweetcare.ingest.backoff import RESET_MARGIN_S, BackoffPolicy
from tweetcare.ingest.run import cursor_file, outbox_file
from tweetcare.kafka.broker import start_broker, stop_broker
from tweetcare.kafka.replay import MESSAGE_FIELDS
from tweetcare.kafka.topics import ensure_topics

pytestmark = pytest.mark.integration

TWEETCARE = Path(sys.executable).with_name("tweetcare")
TOKEN = "stand-in-token"
BRAND_ID = "11"
RATE_LIMIT_RESET_IN = 3.0
RUN_TIMEOUT = 180


def ids(names: str = "ABCD") -> dict[str, str]:
    """Fresh tweet ids per run: the session's `tweets` topic also holds other tests' tweets."""
    base = random.randrange(10**15, 10**16)
    return {name: str(base + step) for step, name in enumerate(names)}


def run_ingest(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TWEETCARE), "ingest", "x", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


def consume(settings: Settings, wanted: set[str]) -> list[tuple[str, dict[str, Any]]]:
    """(key, message) of every message in `tweets` whose tweet id is one of `wanted`."""
    consumer = KafkaConsumer(
        settings.topic_tweets,
        **settings.kafka_client_options(),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=5000,
    )
    found = []
    try:
        for record in consumer:
            message = json.loads(record.value)
            if message.get("tweet_id") in wanted:
                found.append((record.key.decode(), message))
    finally:
        consumer.close()
    return found


def test_ingest_publishes_each_tweet_once_after_x_backoff(
    kafka_broker: Settings, kafka_env: dict[str, str], tmp_path: Path
) -> None:
    t = ids()
    customer = ("501", "jane_doe")
    a = stream_tweet(t["A"], *customer, "@AmazonHelp my order never arrived")
    b = stream_tweet(
        t["B"],
        *customer,
        "@AmazonHelp still nothing",
        conversation_id=t["A"],
        referenced_tweets=[{"type": "replied_to", "id": t["A"]}],
    )
    c = stream_tweet(
        t["C"],
        BRAND_ID,
        "AmazonHelp",
        "@jane_doe Sorry! Please DM us your order number",
        conversation_id=t["A"],
        referenced_tweets=[{"type": "replied_to", "id": t["B"]}],
    )
    d = stream_tweet(t["D"], "502", "sam", "@AmazonHelp is **bold** <b>markup</b> safe?")
    episodes = [
        Episode(lines=(a, KEEP_ALIVE, {"errors": [{"title": "operational-disconnect"}]}, b)),
        Episode(status=429, reset_in=RATE_LIMIT_RESET_IN),
        Episode(status=503),
        Episode(lines=(b, KEEP_ALIVE, c), hold=True),
    ]
    rules_file = tmp_path / "x_rules.yaml"
    rules_file.write_text("brands:\n  - handle: AmazonHelp\n    keywords: [amazon order]\n")
    stale = {"id": "9", "value": "from:SomeoneElse", "tag": "old"}
    standin = XStandIn(episodes, {"AmazonHelp": BRAND_ID}, [stale], {BRAND_ID: [d, b]})
    with standin:
        env = {
            **os.environ,
            **kafka_env,
            "TWEETCARE_X_API_BASE_URL": standin.url,
            "TWEETCARE_X_BEARER_TOKEN": TOKEN,
            "TWEETCARE_X_RULES_CONFIG": str(rules_file),
            "TWEETCARE_X_MENTIONS_POLL_SECONDS": "0.5",
        }
        done = run_ingest(env, "--limit", "4", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["published"] == 4 and report["duplicates"] >= 1 and report["failed"] == 0

    # each tweet once, keyed by its conversation, in exactly replay's format
    found = consume(kafka_broker, set(t.values()))
    assert sorted(m["tweet_id"] for _, m in found) == sorted(t.values())
    by_id = {m["tweet_id"]: (key, m) for key, m in found}
    for key, message in by_id.values():
        assert list(message) == list(MESSAGE_FIELDS)
        assert key == TweetMessage.model_validate(message).conversation_id
    assert {by_id[t[n]][0] for n in "ABC"} == {t["A"]} and by_id[t["D"]][0] == t["D"]
    assert by_id[t["A"]][1]["author_id"] == "501" and by_id[t["A"]][1]["inbound"] is True
    assert by_id[t["C"]][1]["author_id"] == "AmazonHelp" and by_id[t["C"]][1]["inbound"] is False
    assert by_id[t["C"]][1]["in_response_to_tweet_id"] == t["B"]
    assert by_id[t["A"]][1]["created_at"] == "Mon Nov 30 12:00:00 +0000 2026"

    # the stand-in saw the backoff X asks for, and the rules file became the stream's rules
    policy = BackoffPolicy()
    at = [r.at for r in standin.stream_connections()]
    assert len(at) == 4
    assert at[1] - at[0] >= policy.network_step_s
    assert at[2] - at[1] >= RATE_LIMIT_RESET_IN - 1 + RESET_MARGIN_S - 0.1
    assert at[3] - at[2] >= policy.http_start_s
    assert {r.auth for r in standin.requests} == {f"Bearer {TOKEN}"}
    assert [(r["value"], r["tag"]) for r in standin.rules] == [
        (
            '(@AmazonHelp OR from:AmazonHelp OR to:AmazonHelp OR "amazon order") -is:retweet',
            "tweetcare:AmazonHelp",
        )
    ]
    assert any(r.path == f"/2/users/{BRAND_ID}/mentions" for r in standin.requests)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = RUN_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def kept(settings: Settings) -> set[str]:
    """The tweet ids the ingest's outbox holds (read-only, beside the running ingest)."""
    path = outbox_file(settings)
    if not path.exists():
        return set()
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        return {row[0] for row in db.execute("SELECT tweet_id FROM outbox")}
    except sqlite3.OperationalError:  # the table is not made yet
        return set()
    finally:
        db.close()


def cursor(settings: Settings) -> dict[str, str]:
    path = cursor_file(settings)
    return json.loads(path.read_text()) if path.exists() else {}


def test_a_broker_outage_and_a_kill_lose_no_tweet_and_the_cursor_waits_for_acks(
    tmp_path: Path,
) -> None:
    """A private broker (this test stops it): A and mention D go through; then, with the broker
    down, B and C come on the stream and E among the mentions; the ingest is killed -9. After
    the broker is back, the next run sends B, C and E first, and each tweet is in Kafka once."""
    broker = broker_settings(tmp_path / "kafka")
    settings = broker.model_copy(update={"state_dir": tmp_path / "state"})
    t = ids("ABCDE")
    customer = ("501", "jane_doe")
    a, b, c, d, e = (
        stream_tweet(t[name], *customer, f"@AmazonHelp tweet {name}") for name in "ABCDE"
    )
    gate = threading.Event()
    rules_file = tmp_path / "x_rules.yaml"
    rules_file.write_text("brands:\n  - handle: AmazonHelp\n")

    def env_for(standin: XStandIn) -> dict[str, str]:
        return {
            **os.environ,
            **settings.to_env(),
            "TWEETCARE_X_API_BASE_URL": standin.url,
            "TWEETCARE_X_BEARER_TOKEN": TOKEN,
            "TWEETCARE_X_RULES_CONFIG": str(rules_file),
            "TWEETCARE_X_MENTIONS_POLL_SECONDS": "0.5",
            "COLUMNS": "200",
        }

    start_broker(broker)
    try:
        ensure_topics(broker)
        first_run = [Episode(lines=(a,)), Episode(lines=(b, c), gate=gate, hold=True)]
        standin = XStandIn(first_run, {"AmazonHelp": BRAND_ID}, [], {BRAND_ID: [d]})
        with standin, (tmp_path / "first.log").open("w") as log:
            ingest = subprocess.Popen(
                [str(TWEETCARE), "ingest", "x"], env=env_for(standin), stderr=log
            )
            try:
                # A (then a dropped stream) and mention D, acknowledged: the cursor is at D
                wait_for(
                    lambda: (
                        len(standin.stream_connections()) >= 2
                        and cursor(settings) == {BRAND_ID: t["D"]}
                        and not kept(settings)
                    ),
                    "A and D in Kafka",
                )
                stop_broker(broker)
                standin.mentions[BRAND_ID] = [e, d]
                gate.set()
                wait_for(lambda: kept(settings) == {t["B"], t["C"], t["E"]}, "B, C, E kept")
                assert cursor(settings) == {BRAND_ID: t["D"]}  # E is not acknowledged
                assert ingest.poll() is None
            finally:
                ingest.send_signal(signal.SIGKILL)
                ingest.wait()
        assert kept(settings) == {t["B"], t["C"], t["E"]}
        assert cursor(settings) == {BRAND_ID: t["D"]}

        start_broker(broker)
        standin = XStandIn([Episode(hold=True)], {"AmazonHelp": BRAND_ID}, [], {BRAND_ID: [e, d]})
        with standin, (tmp_path / "second.log").open("w") as log:
            ingest = subprocess.Popen(
                [str(TWEETCARE), "ingest", "x", "--json"],
                env=env_for(standin),
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
            try:
                wait_for(
                    lambda: not kept(settings) and cursor(settings) == {BRAND_ID: t["E"]},
                    "the outbox sent and E acknowledged",
                )
            finally:
                ingest.send_signal(signal.SIGINT)  # Ctrl-C: the run ends and reports
                out, _ = ingest.communicate(timeout=RUN_TIMEOUT)
        assert ingest.returncode == 0, (tmp_path / "second.log").read_text()[-3000:]
        report = json.loads(out.strip().splitlines()[-1])
        assert (report["resent"], report["kept"], report["failed"]) == (3, 0, 0)
        assert report["published"] == 0 and report["duplicates"] >= 1  # E: the outbox sent it

        found = consume(broker, set(t.values()))
        assert sorted(m["tweet_id"] for _, m in found) == sorted(t.values())  # each once
    finally:
        stop_broker(broker)
