"""Posting sendable replies to X through tweepy: a dry run unless asked to go live.

Going live needs both `--live` and all four user-context credentials (`TWEETCARE_X_API_KEY`,
`TWEETCARE_X_API_SECRET`, `TWEETCARE_X_ACCESS_TOKEN`, `TWEETCARE_X_ACCESS_TOKEN_SECRET`), so a
test run or a demo can never tweet by accident. A missing or refused credential is one clear
error, not a traceback.

Posting goes through the outbox (models.REPLY_STATES): each run has its own id, and a reply is
claimed approved -> posting under that run's lease (one conditional UPDATE, so two overlapping
runs never both take it) and committed before X is called, then posting -> posted. A crash in
between leaves it in `posting`; once its lease has expired a later run moves it to `unclear`
instead of posting it again, and a person decides; a reply another live run holds is never
touched. X refusing a reply (a 4xx) means nothing was posted: that reply is parked as `refused`
with X's reason for a person, and the run goes on with the next one. Refused credentials and
rate limits are no fault of the reply: it goes back to `approved` and the run stops.

Calls go to `x_api_base_url` (X itself, or a stand-in in tests) and wait at most
`X_REQUEST_TIMEOUT_S` for an answer: an X that never answers leaves that reply `unclear` instead
of holding the run, and its lease, for ever.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

import requests
import tweepy

from tweetcare.core.errors import UserError
from tweetcare.core.kill_points import POSTER_AFTER_X_ACCEPT, kill_point
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
# the host tweepy.Client always calls (`_ApiSession` sends its calls to `x_api_base_url`)
TWEEPY_HOST = "https://api.twitter.com"
# the longest wait for X's answer to one call: far below the lease a run holds on the reply
# (`reply_post_lease_seconds`), so no other run takes a reply over while X may still answer
X_REQUEST_TIMEOUT_S = 30.0


class XClient(Protocol):
    def create_tweet(self, *, text: str, in_reply_to_tweet_id: str) -> Any: ...


@dataclass
class PostReport:
    live: bool
    run_id: str = ""
    posted: list[tuple[str, str]] = field(default_factory=list)  # (reply id, tweet id)
    would_post: list[Reply] = field(default_factory=list)
    # replies an earlier run left half-posted: they now wait for a person
    unclear: list[Reply] = field(default_factory=list)
    # (reply id, X's reason): parked as `refused`, waiting for a person
    refused: list[tuple[str, str]] = field(default_factory=list)


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
    client = tweepy.Client(**keys)
    client.session = _ApiSession(settings.x_api_base_url)
    return client


class _ApiSession(requests.Session):
    """tweepy.Client's HTTP session, pointed at `base_url` and with a timeout on every call
    (tweepy names neither: its host is fixed and it waits for ever)."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if isinstance(url, str) and url.startswith(TWEEPY_HOST):
            url = self.base_url + url.removeprefix(TWEEPY_HOST)
        kwargs.setdefault("timeout", X_REQUEST_TIMEOUT_S)
        return super().request(method, url, *args, **kwargs)


def post_replies(
    store: TicketStore,
    settings: Settings,
    live: bool,
    limit: int = 50,
    make_client: Callable[[Settings], XClient] = tweepy_client,
) -> PostReport:
    """Post approved replies not yet posted, each at most once; a dry run only lists them."""
    if not live:
        return PostReport(live=False, would_post=store.replies_to_post(limit))
    client = make_client(settings)
    run_id = uuid.uuid4().hex
    lease = timedelta(seconds=settings.reply_post_lease_seconds)
    report = PostReport(live=True, run_id=run_id, unclear=store.mark_unclear(run_id))
    for reply in store.replies_to_post(limit):
        claimed = store.claim_for_posting(reply.reply_id, run_id, lease)
        if claimed is None:
            continue  # another run took it since we listed it
        try:
            tweet_id = _post(store, client, claimed, run_id)
        except XRefused as refused:
            store.refuse(claimed.reply_id, run_id, refused.reason)
            report.refused.append((claimed.reply_id, refused.reason))
            continue
        kill_point(POSTER_AFTER_X_ACCEPT)  # fault tests: X has the tweet, the store not yet
        store.mark_posted(claimed.reply_id, tweet_id, run_id)
        report.posted.append((claimed.reply_id, tweet_id))
    return report


class XRefused(Exception):
    """X refused this one reply (a 4xx): nothing was posted, the reply is at fault."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _post(store: TicketStore, client: XClient, reply: Reply, run_id: str) -> str:
    """Hand one claimed reply to X; on failure, put it where its outcome says."""
    try:
        response = client.create_tweet(
            text=reply.text, in_reply_to_tweet_id=reply.in_reply_to_tweet_id
        )
        return str(response.data["id"])
    except (tweepy.Unauthorized, tweepy.Forbidden) as err:
        store.release(reply.reply_id, run_id)
        raise UserError(
            f"the X API refused the credentials ({_status(err)}): check "
            f"{', '.join(f'TWEETCARE_{n.upper()}' for n in CREDENTIALS)} and the app's "
            "write permission"
        ) from err
    except tweepy.TooManyRequests as err:
        store.release(reply.reply_id, run_id)  # nothing was posted; the next run posts it
        raise UserError(
            f"X asks us to slow down ({_status(err)}): the remaining replies stay approved "
            "for the next `tweetcare replies post --live`"
        ) from err
    except tweepy.HTTPException as err:
        if err.response is not None and err.response.status_code < 500:
            raise XRefused(f"{_status(err)}: {_reason(err)}") from err
        store.mark_unclear(run_id, reply.reply_id)
        raise UserError(_unclear_message(reply, err)) from err
    except Exception as err:
        # the request may or may not have reached X: a person checks before it is posted again
        store.mark_unclear(run_id, reply.reply_id)
        raise UserError(_unclear_message(reply, err)) from err


def _reason(err: tweepy.HTTPException) -> str:
    """X's own words, on one line."""
    said = "; ".join(err.api_messages) if err.api_messages else str(err)
    return " ".join(said.split())


def _unclear_message(reply: Reply, err: Exception) -> str:
    return (
        f"posting reply {reply.reply_id} failed ({type(err).__name__}: {err}); it may be on X "
        "or not, so it waits in `tweetcare replies pending`: check the thread, then approve it "
        "to post it again or reject it"
    )


def _status(err: tweepy.HTTPException) -> str:
    return f"HTTP {err.response.status_code}" if err.response is not None else "refused"
