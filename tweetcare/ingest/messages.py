"""An X API v2 tweet as a `tweets` topic message: the fields and format `tweetcare replay` sends.

A brand's own tweets carry the brand's handle as `author_id` and `inbound: false`, as in twcs;
customers keep their numeric X user id. Dates become twcs's "Tue Oct 31 22:10:47 +0000 2017".
Nothing is repaired: a tweet X sends without text goes out without it and the stream's
dead-letter queue says why.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tweetcare.core.schemas import TWCS_DATE_FORMAT

# what every tweet request asks X for, so stream and mention tweets carry the same fields
TWEET_PARAMS: dict[str, str] = {
    "tweet.fields": "author_id,conversation_id,created_at,referenced_tweets,in_reply_to_user_id",
    "expansions": "author_id",
    "user.fields": "username",
}


def usernames(payload: dict[str, Any]) -> dict[str, str]:
    """user id -> username from an answer's `includes.users` (the author_id expansion)."""
    users = (payload.get("includes") or {}).get("users") or []
    return {str(u["id"]): str(u["username"]) for u in users if "id" in u and "username" in u}


def twcs_time(x_time: str | None) -> str | None:
    """X's ISO 8601 "2026-11-30T12:00:00.000Z" as twcs writes dates; None/unparsable as given."""
    if not x_time:
        return x_time
    try:
        return datetime.fromisoformat(x_time).strftime(TWCS_DATE_FORMAT)
    except ValueError:
        return x_time


def record_of(
    tweet: dict[str, Any], names: dict[str, str], brands: dict[str, str]
) -> dict[str, Any]:
    """The replay record (TweetMessage's fields) of one tweet.

    `names`: user id -> username from the same answer; `brands`: lower-case handle -> handle.
    """
    author = str(tweet["author_id"]) if tweet.get("author_id") is not None else None
    brand = brands.get(names.get(author or "", "").lower())
    replied_to = next(
        (
            ref.get("id")
            for ref in tweet.get("referenced_tweets") or []
            if ref.get("type") == "replied_to"
        ),
        None,
    )
    tweet_id = str(tweet["id"])
    return {
        "tweet_id": tweet_id,
        "author_id": brand or author,
        "inbound": brand is None,
        "created_at": twcs_time(tweet.get("created_at")),
        "text": tweet.get("text"),
        "response_tweet_id": None,
        "in_response_to_tweet_id": str(replied_to) if replied_to else None,
        "conversation_id": str(tweet.get("conversation_id") or tweet_id),
    }
