"""Posting sendable replies to X through tweepy: a dry run unless asked to go live.

Going live needs both `--live` and all four user-context credentials (`TWEETCARE_X_API_KEY`,
`TWEETCARE_X_API_SECRET`, `TWEETCARE_X_ACCESS_TOKEN`, `TWEETCARE_X_ACCESS_TOKEN_SECRET`), so a
test run or a demo can never tweet by accident. A missing or refused credential is one clear
error, not a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import tweepy

from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.tickets.models import Reply
from tweetcare.tickets.store import TicketStore

# Settings field -> tweepy.Client argument
CREDENTIALS: dict[str, str] = {
    "x_api_key": "consumer_key",
    "x_api_secret": "consumer_secret",
    "x_access_token": "access_token",
    "x_access_token_secret": "access_token_secret",
}


class XClient(Protocol):
    def create_tweet(self, *, text: str, in_reply_to_tweet_id: str) -> Any: ...


@dataclass
class PostReport:
    live: bool
    posted: list[tuple[str, str]] = field(default_factory=list)  # (reply id, tweet id)
    would_post: list[Reply] = field(default_factory=list)


def missing_credentials(settings: Settings) -> list[str]:
    """The TWEETCARE_X_* variables that are not set."""
    return [f"TWEETCARE_{name.upper()}" for name in CREDENTIALS if not getattr(settings, name)]


def tweepy_client(settings: Settings) -> XClient:
    """A user-context client; refuses to exist without every credential."""
    missing = missing_credentials(settings)
    if missing:
        raise UserError(
            f"cannot post live: set {', '.join(missing)} (X API user credentials), "
            "or leave out --live for a dry run"
        )
    keys = {arg: getattr(settings, name) for name, arg in CREDENTIALS.items()}
    return tweepy.Client(**keys)


def post_replies(
    store: TicketStore,
    settings: Settings,
    live: bool,
    limit: int = 50,
    make_client: Callable[[Settings], XClient] = tweepy_client,
) -> PostReport:
    """Post automatic and approved replies not yet posted; a dry run only lists them."""
    replies = store.replies_to_post(limit)
    report = PostReport(live=live)
    if not live:
        report.would_post = replies
        return report
    client = make_client(settings)
    for reply in replies:
        tweet_id = _post(client, reply)
        store.mark_posted(reply.reply_id, tweet_id)
        report.posted.append((reply.reply_id, tweet_id))
    return report


def _post(client: XClient, reply: Reply) -> str:
    try:
        response = client.create_tweet(
            text=reply.text, in_reply_to_tweet_id=reply.in_reply_to_tweet_id
        )
    except (tweepy.Unauthorized, tweepy.Forbidden) as err:
        raise UserError(
            f"the X API refused the credentials ({_status(err)}): check "
            f"{', '.join(f'TWEETCARE_{n.upper()}' for n in CREDENTIALS)} and the app's "
            "write permission"
        ) from err
    except tweepy.TweepyException as err:
        raise UserError(f"posting reply {reply.reply_id} failed: {err}") from err
    return str(response.data["id"])


def _status(err: tweepy.HTTPException) -> str:
    return f"HTTP {err.response.status_code}" if err.response is not None else "refused"
