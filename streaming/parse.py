"""Raw Kafka values to tweets, or to a dead letter that says in words what was wrong.

Pure functions, so every reason a message can be refused is tested without Spark or Kafka. A
reason names the field and the kind of problem, never the value: the dead letters go to a topic
and the lake that more people read than the tickets, and a value can be personal data (the raw
record stays beside the reason for whoever has to replay it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from tweetcare.core.errors import describe_validation
from tweetcare.core.schemas import REQUIRED_MESSAGE_FIELDS, TweetMessage, parse_twcs_time

# twcs.csv writes the inbound flag as the strings "True"/"False"
_INBOUND_STRINGS = {"True": True, "False": False}
_ID_FIELDS = ("tweet_id", "author_id", "conversation_id", "response_tweet_id")
_ID_FIELDS += ("in_response_to_tweet_id",)
_EXAMPLE_DATE = "Tue Oct 31 22:10:47 +0000 2017"
# a tweet is at most a few KB; anything far larger is not one (and must not reach the models)
MAX_MESSAGE_BYTES = 64 * 1024


@dataclass(frozen=True)
class DeadLetter:
    """A message the stream cannot use, and why."""

    reason: str


def parse_message(value: bytes | None) -> TweetMessage | DeadLetter:
    """One Kafka value to a `TweetMessage`, or a `DeadLetter` naming the first problem found."""
    if value is None:
        return DeadLetter("empty message: the Kafka value is null")
    if len(value) > MAX_MESSAGE_BYTES:
        return DeadLetter(
            f"too large: {len(value)} bytes (a tweet message is at most {MAX_MESSAGE_BYTES})"
        )
    try:
        decoded = value.decode("utf-8")
    except UnicodeDecodeError as err:
        return DeadLetter(f"not UTF-8: {err.reason} at byte {err.start}")
    try:
        payload = json.loads(decoded)
    except json.JSONDecodeError as err:
        return DeadLetter(f"not JSON: {err.msg} at line {err.lineno} column {err.colno}")
    except RecursionError:
        return DeadLetter("not JSON we can read: nested too deeply")
    except ValueError as err:  # e.g. an integer longer than Python's digit limit
        return DeadLetter(f"not JSON we can read: {err}")
    if not isinstance(payload, dict):
        return DeadLetter(f"not a JSON object: got {_json_type(payload)}")
    return parse_payload(payload)


def parse_payload(payload: dict[str, Any]) -> TweetMessage | DeadLetter:
    """Check a decoded JSON object field by field, in the order a person would fix them."""
    missing = [name for name in REQUIRED_MESSAGE_FIELDS if payload.get(name) in (None, "")]
    if missing:
        return DeadLetter(f"missing fields: {', '.join(missing)}")
    fields = dict(payload)
    for name in _ID_FIELDS:
        value = fields.get(name)
        if isinstance(value, bool) or not isinstance(value, (str, int, type(None))):
            return DeadLetter(
                f"bad {name}: must be a string or an integer, got {_json_type(value)}"
            )
        if isinstance(value, int):
            fields[name] = str(value)
    inbound = parse_inbound(fields.get("inbound"))
    if inbound is None:
        got = f"got {_json_type(fields['inbound'])}" if "inbound" in fields else "missing"
        return DeadLetter(f'bad inbound: {got} (must be a JSON boolean or "True"/"False")')
    fields["inbound"] = inbound
    if not isinstance(fields["text"], str):
        return DeadLetter(f"bad text: must be a string, got {_json_type(fields['text'])}")
    if not fields["text"].strip():
        return DeadLetter("empty text")
    if not isinstance(fields["created_at"], str) or parse_twcs_time(fields["created_at"]) is None:
        return DeadLetter(
            f"unparsable created_at: got {_json_type(fields['created_at'])} that is not a date "
            f'like "{_EXAMPLE_DATE}"'
        )
    try:
        return TweetMessage.model_validate(fields)
    except ValidationError as err:
        return DeadLetter(f"invalid message: {describe_validation(err, 'message')}")


def parse_inbound(value: Any) -> bool | None:
    """The inbound flag from a JSON boolean or twcs' "True"/"False"; None when it is neither."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _INBOUND_STRINGS.get(value)
    return None


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    names |= {int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
