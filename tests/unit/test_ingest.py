"""X ingestion's pure parts: rules from the file, X's backoff, bounded dedup, the message format,
the outbox and the mentions cursor around a sink whose answers the test gives, and the CLI
refusing to start without credentials or with a broken cursor file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tweetcare.core.errors import UserError
from tweetcare.core.schemas import TweetMessage
from tweetcare.core.settings import Settings
from tweetcare.ingest.backoff import RESET_MARGIN_S, Reconnects
from tweetcare.ingest.cursor import MentionCursor
from tweetcare.ingest.dedup import SeenIds
from tweetcare.ingest.messages import record_of, twcs_time, usernames
from tweetcare.ingest.outbox import Outbox
from tweetcare.ingest.rules import BrandRule, XRules, load_x_rules, plan_rule_changes, rule_value
from tweetcare.ingest.x_ingest import XIngest
from tweetcare.kafka.replay import MESSAGE_FIELDS, build_message

TWEETCARE = Path(sys.executable).with_name("tweetcare")


def test_the_project_rules_file_loads_and_makes_one_tagged_rule_per_brand() -> None:
    rules = load_x_rules(Settings().x_rules_config)
    made = rules.stream_rules()
    assert [r["tag"] for r in made] == [f"tweetcare:{h}" for h in rules.handles]
    assert all(
        f"@{h}" in r["value"] and "-is:retweet" in r["value"]
        for h, r in zip(rules.handles, made, strict=True)
    )


def test_a_rule_quotes_phrases_and_a_rule_over_xs_limit_is_a_clear_error() -> None:
    brand = BrandRule(handle="AmazonHelp", keywords=["amazon order", "refund"])
    assert rule_value(brand) == (
        '(@AmazonHelp OR from:AmazonHelp OR to:AmazonHelp OR "amazon order" OR refund) -is:retweet'
    )
    long = XRules(brands=[BrandRule(handle="A", keywords=["word"] * 200)])
    with pytest.raises(UserError, match="over the 512"):
        long.stream_rules()


def test_a_bad_rules_file_is_one_user_error(tmp_path: Path) -> None:
    path = tmp_path / "x_rules.yaml"
    path.write_text("brands:\n  - handle: '@Not a handle'\n")
    with pytest.raises(UserError, match=r"bad X rules .*brands\.0\.handle"):
        load_x_rules(path)


def test_rule_changes_turn_the_streams_rules_into_the_files() -> None:
    wanted = [{"value": "a", "tag": "tweetcare:A"}, {"value": "b", "tag": "tweetcare:B"}]
    existing = [
        {"id": "1", "value": "a", "tag": "tweetcare:A"},
        {"id": "2", "value": "b-old", "tag": "tweetcare:B"},
        {"id": "3", "value": "other", "tag": "someone"},
    ]
    add, delete = plan_rule_changes(existing, wanted)
    assert add == [{"value": "b", "tag": "tweetcare:B"}]
    assert sorted(delete) == ["2", "3"]
    assert plan_rule_changes([{"id": "1", **wanted[0]}, {"id": "2", **wanted[1]}], wanted) == (
        [],
        [],
    )


def test_network_errors_back_off_linearly_from_250ms_to_16s() -> None:
    again = Reconnects()
    waits = [again.after_network_error() for _ in range(70)]
    assert waits[:4] == [0.25, 0.5, 0.75, 1.0]
    assert max(waits) == waits[-1] == 16.0


def test_http_errors_back_off_exponentially_from_5s_to_320s_and_a_connection_resets() -> None:
    reconnects = Reconnects()
    assert [reconnects.after_http_error() for _ in range(8)] == [5, 10, 20, 40, 80, 160, 320, 320]
    reconnects.connected()
    assert reconnects.after_http_error() == 5


def test_429_backs_off_from_a_minute_and_honours_the_reset_header() -> None:
    blind = Reconnects()
    assert [blind.after_rate_limit(None) for _ in range(3)] == [60, 120, 240]
    told = Reconnects()
    assert told.after_rate_limit(12.0) == 12.0 + RESET_MARGIN_S  # first: until the window opens
    assert told.after_rate_limit(12.0) == 60  # again: never less than X's minute
    assert told.after_rate_limit(500.0) == 500 + RESET_MARGIN_S


def test_seen_ids_drop_repeats_and_forget_the_oldest_beyond_capacity() -> None:
    seen = SeenIds(capacity=3)
    assert [seen.add(i) for i in ("1", "2", "1", "3", "4")] == [True, True, False, True, True]
    assert len(seen) == 3 and "2" not in seen and "1" in seen  # "1" was refreshed by its repeat
    seen.forget("4")
    assert seen.add("4")


def test_an_x_tweet_becomes_replays_message_keyed_by_conversation() -> None:
    payload = {
        "data": {
            "id": "20",
            "author_id": "7",
            "text": "@jane Sorry, DM us",
            "created_at": "2026-11-30T08:05:09.000Z",
            "conversation_id": "10",
            "referenced_tweets": [
                {"type": "quoted", "id": "3"},
                {"type": "replied_to", "id": "15"},
            ],
        },
        "includes": {"users": [{"id": "7", "username": "amazonhelp"}]},
    }
    record = record_of(payload["data"], usernames(payload), {"amazonhelp": "AmazonHelp"})
    message = json.loads(build_message(record))
    assert list(message) == list(MESSAGE_FIELDS)
    assert TweetMessage.model_validate(message) == TweetMessage(
        tweet_id="20",
        author_id="AmazonHelp",
        inbound=False,
        created_at="Mon Nov 30 08:05:09 +0000 2026",
        text="@jane Sorry, DM us",
        in_response_to_tweet_id="15",
        conversation_id="10",
    )
    customer = record_of({"id": "21", "author_id": "8", "text": "hi"}, {"8": "jane"}, {})
    assert (customer["author_id"], customer["inbound"], customer["conversation_id"]) == (
        "8",
        True,
        "21",
    )
    assert twcs_time("not a date") == "not a date"


class HeldSink:
    """A sink whose sends wait for the test to say what Kafka answered."""

    def __init__(self, answer_at_once: bool = False) -> None:
        self.answer_at_once = answer_at_once
        self.sent: list[tuple[str, bytes]] = []
        self.waiting: list[tuple[Callable[[], None], Callable[[BaseException], None]]] = []

    def send(
        self,
        key: str,
        value: bytes,
        on_ack: Callable[[], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        self.sent.append((key, value))
        if self.answer_at_once:
            on_ack()
        else:
            self.waiting.append((on_ack, on_error))

    def flush(self, timeout: float) -> bool:
        return not self.waiting

    def ack_all(self) -> None:
        for on_ack, _ in self.waiting:
            on_ack()
        self.waiting.clear()

    def fail_all(self) -> None:
        for _, on_error in self.waiting:
            on_error(TimeoutError("broker down"))
        self.waiting.clear()

    def tweet_ids(self) -> list[str]:
        return [json.loads(value)["tweet_id"] for _, value in self.sent]


def make_ingest(tmp_path: Path, sink: HeldSink, api: Any = None) -> XIngest:
    """An ingest over `tmp_path`'s outbox and cursor (one per test, shared by its runs)."""
    rules = XRules(brands=[BrandRule(handle="A")])
    return XIngest(
        api,
        rules,
        sink,
        build_message,
        60.0,
        outbox=Outbox(tmp_path / "outbox.sqlite3"),
        cursor=MentionCursor(tmp_path / "cursor.json"),
    )


def tweet_line(tweet_id: str) -> str:
    return json.dumps({"data": {"id": tweet_id, "author_id": "5", "text": "x", "created_at": "t"}})


def test_stream_lines_keep_alives_notices_and_repeats_publish_each_tweet_once(
    tmp_path: Path,
) -> None:
    sink = HeldSink(answer_at_once=True)
    ingest = make_ingest(tmp_path, sink)
    tweet = tweet_line("1")
    for line in ("", tweet, "\r", "not json", '{"errors": [{"title": "x"}]}', tweet):
        ingest.on_line(line)
    assert [key for key, _ in sink.sent] == ["1"]
    report = ingest.report
    assert (report.published, report.duplicates, report.keep_alives, report.skipped) == (1, 1, 2, 2)
    assert len(ingest.outbox) == 0  # acknowledged: nothing kept


def test_a_tweet_stays_in_the_outbox_until_kafka_acknowledges_it_and_goes_first_next_run(
    tmp_path: Path,
) -> None:
    sink = HeldSink()
    ingest = make_ingest(tmp_path, sink)
    for tweet_id in ("1", "2", "3"):
        ingest.on_line(tweet_line(tweet_id))
    assert [e.tweet_id for e in ingest.outbox.entries()] == ["1", "2", "3"]  # before any answer
    assert ingest.resend_outbox() == 0  # all three await an answer: none is sent twice
    sink.waiting[0][0]()  # "1" acknowledged
    sink.waiting = sink.waiting[1:]
    sink.fail_all()  # the broker went away: "2" and "3" are not in Kafka
    assert [e.tweet_id for e in ingest.outbox.entries()] == ["2", "3"]
    assert ingest.report.failed == 2
    ingest.on_line(tweet_line("2"))  # X delivers it again: the outbox has it, not a second copy
    assert ingest.report.duplicates == 1 and len(sink.sent) == 3

    # the process dies; the next run sends what the outbox kept before anything new
    ingest.outbox.close()
    later = HeldSink()
    again = make_ingest(tmp_path, later)
    assert again.resend_outbox() == 2
    again.on_line(tweet_line("4"))
    assert later.tweet_ids() == ["2", "3", "4"]
    later.ack_all()
    assert len(again.outbox) == 0 and again.report.resent == 2


class Mentions:
    """X's mention timeline of one brand, newest first, as `XApi.mentions` answers it."""

    def __init__(self, tweet_ids: list[str]) -> None:
        self.tweet_ids = tweet_ids

    def wait_for_window(self, path: str) -> float:
        return 0.0

    def mentions(self, user_id: str, since_id: str | None, token: str | None) -> dict[str, Any]:
        fresh = [i for i in self.tweet_ids if since_id is None or int(i) > int(since_id)]
        data = [{"id": i, "author_id": "5", "text": "@A hi", "created_at": "t"} for i in fresh]
        meta = {"newest_id": fresh[0]} if fresh else {}
        return {"data": data, "includes": {"users": [{"id": "5", "username": "c"}]}, "meta": meta}


def test_the_mentions_cursor_moves_only_once_kafka_has_every_tweet_up_to_it(
    tmp_path: Path,
) -> None:
    sink = HeldSink()
    ingest = make_ingest(tmp_path, sink, Mentions(["12", "11"]))
    cursor_file = tmp_path / "cursor.json"

    ingest.advance_when_acknowledged("99", *ingest.poll_mentions("99", None))
    assert not cursor_file.exists()  # sent, not acknowledged
    sink.fail_all()
    ingest.advance_when_acknowledged("99", *ingest.poll_mentions("99", None))
    assert not cursor_file.exists()  # failed: the outbox keeps them, the cursor stays
    assert ingest.resend_outbox() == 2
    sink.ack_all()
    ingest.advance_when_acknowledged("99", *ingest.poll_mentions("99", None))
    assert json.loads(cursor_file.read_text()) == {"99": "12"}

    # a new mention, acknowledged: the next run (a fresh process) asks X only after it
    ingest.api.tweet_ids.insert(0, "13")
    ingest.advance_when_acknowledged("99", *ingest.poll_mentions("99", "12"))
    assert json.loads(cursor_file.read_text()) == {"99": "12"}
    sink.ack_all()
    ingest.advance_when_acknowledged("99", *ingest.poll_mentions("99", "12"))
    assert MentionCursor(cursor_file).since("99") == "13"
    assert sink.tweet_ids() == ["12", "11", "12", "11", "13"]


def test_a_poll_cut_short_by_the_limit_leaves_the_cursor(tmp_path: Path) -> None:
    sink = HeldSink(answer_at_once=True)
    ingest = make_ingest(tmp_path, sink, Mentions(["12", "11"]))
    ingest.limit = 1
    newest, polled, complete = ingest.poll_mentions("99", None)
    assert (newest, complete, sink.tweet_ids()) == ("12", False, ["12"])
    ingest.advance_when_acknowledged("99", newest, polled, complete)
    assert not (tmp_path / "cursor.json").exists()  # "11" was never sent


def test_without_credentials_the_cli_says_so_in_one_line_and_exits_1() -> None:
    env = {**os.environ, "TWEETCARE_X_BEARER_TOKEN": "", "COLUMNS": "200"}
    done = subprocess.run(
        [str(TWEETCARE), "ingest", "x"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 1  # a missing setting, not a bad command line
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "TWEETCARE_X_BEARER_TOKEN" in lines[0], done.stderr


@pytest.mark.parametrize("content", ["{not json", '{"99": 12}', "[]"])
def test_a_broken_cursor_file_is_one_line_and_exit_1(tmp_path: Path, content: str) -> None:
    state = tmp_path / "state"
    (state / "x-ingest").mkdir(parents=True)
    (state / "x-ingest" / "mentions-cursor.json").write_text(content)
    env = {
        **os.environ,
        "TWEETCARE_X_BEARER_TOKEN": "token",
        "TWEETCARE_STATE_DIR": str(state),
        "COLUMNS": "200",
    }
    done = subprocess.run(
        [str(TWEETCARE), "ingest", "x"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 1  # broken state, not a bad command line
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "is not a mentions cursor" in lines[0], done.stderr
