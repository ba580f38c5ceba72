"""Every reason the stream dead-letters a message, and the messages it accepts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from streaming import records
from streaming.parse import MAX_MESSAGE_BYTES, DeadLetter, parse_message
from tweetcare.core.schemas import TweetMessage

GOOD: dict[str, Any] = {
    "tweet_id": "119237",
    "author_id": "105834",
    "inbound": "True",
    "created_at": "Wed Oct 11 06:55:44 +0000 2017",
    "text": "@AppleSupport causing the reply to be disregarded",
    "response_tweet_id": "119236",
    "in_response_to_tweet_id": None,
    "conversation_id": "119237",
}


def encode(payload: Any) -> bytes:
    return json.dumps(payload).encode("utf-8")


def reason_for(value: bytes | None) -> str:
    result = parse_message(value)
    assert isinstance(result, DeadLetter), result
    return result.reason


def test_a_twcs_message_parses() -> None:
    result = parse_message(encode(GOOD))
    assert isinstance(result, TweetMessage)
    assert result.inbound is True and result.tweet_id == "119237"


def test_json_booleans_and_integer_ids_are_accepted() -> None:
    result = parse_message(encode({**GOOD, "inbound": False, "tweet_id": 42}))
    assert isinstance(result, TweetMessage)
    assert (result.inbound, result.tweet_id) == (False, "42")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "empty message: the Kafka value is null"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object: got an array"),
        (b'"text"', "not a JSON object: got a string"),
    ],
)
def test_undecodable_values(value: bytes | None, expected: str) -> None:
    assert reason_for(value).startswith(expected)


def test_missing_fields_are_named() -> None:
    payload = {k: v for k, v in GOOD.items() if k not in ("text", "author_id")}
    assert reason_for(encode(payload)) == "missing fields: author_id, text"


def test_null_fields_count_as_missing() -> None:
    assert (
        reason_for(encode({**GOOD, "conversation_id": None})) == "missing fields: conversation_id"
    )


@pytest.mark.parametrize("inbound", ["yes", 1, None, "true"])
def test_bad_inbound(inbound: Any) -> None:
    assert reason_for(encode({**GOOD, "inbound": inbound})).startswith("bad inbound")


def test_missing_inbound() -> None:
    payload = {k: v for k, v in GOOD.items() if k != "inbound"}
    assert reason_for(encode(payload)).startswith("bad inbound: missing")


def test_empty_text() -> None:
    assert reason_for(encode({**GOOD, "text": "   \n"})) == "empty text"


def test_unparsable_created_at() -> None:
    reason = reason_for(encode({**GOOD, "created_at": "2017-10-11 06:55"}))
    assert reason.startswith("unparsable created_at: got a string that is not a date like")


def test_ids_of_the_wrong_type() -> None:
    assert reason_for(encode({**GOOD, "tweet_id": [1]})).startswith("bad tweet_id")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"[" * 20_000 + b"]" * 20_000, "not JSON we can read: nested too deeply"),
        (b"9" * 5_000, "not JSON we can read: Exceeds the limit"),
        (b"x" * (MAX_MESSAGE_BYTES + 1), f"too large: {MAX_MESSAGE_BYTES + 1} bytes"),
    ],
)
def test_values_that_would_break_a_parser_are_dead_lettered(value: bytes, expected: str) -> None:
    assert reason_for(value).startswith(expected)


@pytest.mark.parametrize(
    "created_at",
    [
        "Tue Oct 31 22:10:47 +0000 99999",  # year beyond datetime's range
        "Mon Jan 01 00:30:00 +0100 0001",  # in range, but not once moved to UTC
        "Fri Dec 31 23:30:00 -0100 9999",
    ],
)
def test_dates_that_overflow_are_dead_lettered(created_at: str) -> None:
    assert reason_for(encode({**GOOD, "created_at": created_at})).startswith(
        "unparsable created_at"
    )


def test_any_exception_on_the_record_path_becomes_a_dead_letter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(_value: bytes | None) -> TweetMessage:
        raise MemoryError("out of memory on this record")

    monkeypatch.setattr(records, "parse_message", explode)
    result = records.read_record(records.KafkaRecord(None, b"{}", "tweets", 0, 1, None))
    assert result == DeadLetter("unreadable message: MemoryError")


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("inbound", "call me on +44 20 7946 0958", "bad inbound: got a string"),
        ("inbound", {"email": "jane.doe@example.com"}, "bad inbound: got an object"),
        ("created_at", "jane.doe@example.com", "unparsable created_at: got a string"),
        ("tweet_id", ["Jane Doe"], "bad tweet_id: must be a string or an integer, got an array"),
        ("text", {"name": "Jane Doe"}, "bad text: must be a string, got an object"),
    ],
)
def test_a_reason_names_the_field_and_the_problem_never_the_value(
    field: str, value: Any, expected: str
) -> None:
    reason = reason_for(encode({**GOOD, field: value}))
    assert reason.startswith(expected)
    for secret in ("7946", "jane.doe", "example.com", "Jane Doe"):
        assert secret not in reason


def test_an_exception_on_the_record_path_is_named_without_its_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(_value: bytes | None) -> TweetMessage:
        raise ValueError("cannot read 'jane.doe@example.com' at +44 20 7946 0958")

    monkeypatch.setattr(records, "parse_message", explode)
    result = records.read_record(records.KafkaRecord(None, b"{}", "tweets", 0, 1, None))
    assert result == DeadLetter("unreadable message: ValueError")
