"""The reply outbox: a crash between posting a reply and recording it never posts it twice, two
overlapping post runs never touch each other's replies, and one reply X refuses is parked with its
reason while the run goes on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import tweepy
from typer.testing import CliRunner

from tests.unit.test_tickets import customer
from tweetcare.cli import app
from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.tickets import TicketStore, actions, audit
from tweetcare.tickets.models import APPROVED, POSTED, POSTING, REFUSED, REJECTED, UNCLEAR
from tweetcare.tickets.poster import post_replies
from tweetcare.tickets.replies import load_replies
from tweetcare.tickets.routing import load_routing

# run in a child process: post, record the tweet in a file, then die before recording it
CRASHING_POSTER = """
import json, os, signal, sys
from tweetcare.core.settings import Settings
from tweetcare.tickets import TicketStore
from tweetcare.tickets.poster import post_replies

url, sent_file = sys.argv[1], sys.argv[2]

class CrashAfterPosting:
    def create_tweet(self, *, text, in_reply_to_tweet_id):
        with open(sent_file, "a") as sent:
            sent.write(json.dumps([text, in_reply_to_tweet_id]) + "\\n")
        os.kill(os.getpid(), signal.SIGKILL)  # X has the tweet; the store never hears of it

post_replies(TicketStore(url), Settings(), live=True, limit=1, make_client=lambda _s: CrashAfterPosting())
"""


LEASE = timedelta(minutes=5)


def http_error(status: int, detail: str = "nope") -> tweepy.HTTPException:
    """What tweepy raises for an HTTP error status (its subclass for 401, 403, 429...)."""
    response = requests.Response()
    response.status_code = status
    kinds = {
        400: tweepy.BadRequest,
        401: tweepy.Unauthorized,
        403: tweepy.Forbidden,
        429: tweepy.TooManyRequests,
    }
    kind = kinds.get(status, tweepy.HTTPException)
    return kind(response, response_json={"title": "nope", "detail": detail})


class RecordingX:
    """Stands in for tweepy.Client: appends each tweet to the same file the crashed run used;
    answers `status` to every call, or to the replies to the tweets in `refuse`."""

    def __init__(
        self, sent_file: Path, status: int | None = None, refuse: frozenset[str] = frozenset()
    ) -> None:
        self.sent_file = sent_file
        self.status = status
        self.refuse = refuse

    def create_tweet(self, *, text: str, in_reply_to_tweet_id: str) -> tweepy.Response:
        if in_reply_to_tweet_id in self.refuse:
            raise http_error(self.status or 400, "Your Tweet text is too long.")
        if self.status is not None:
            raise http_error(self.status)
        with self.sent_file.open("a") as sent:
            sent.write(json.dumps([text, in_reply_to_tweet_id]) + "\n")
        n = len(self.sent_file.read_text().splitlines())
        return tweepy.Response({"id": str(9000 + n), "text": text}, {}, [], {})


@pytest.fixture
def store(tmp_path: Path) -> Any:
    store = TicketStore(f"sqlite:///{tmp_path / 'tickets.db'}")
    store.create_schema()
    settings = Settings()
    events = [customer(str(n), str(n), 10 + n) for n in range(1, 4)]  # three confident tickets
    store.apply(
        events, load_routing(settings.routing_config), load_replies(settings.replies_config)
    )
    assert len(store.replies_to_post()) == 3
    yield store
    store.close()


def posts(sent_file: Path) -> list[str]:
    """The in-reply-to tweet id of every tweet X received."""
    return [json.loads(line)[1] for line in sent_file.read_text().splitlines()]


def test_a_crash_between_posting_and_recording_never_posts_twice(
    store: TicketStore, tmp_path: Path
) -> None:
    sent_file = tmp_path / "x.jsonl"
    # a lease that has run out by the time the next run starts: its run is dead
    env = os.environ | {"TWEETCARE_REPLY_POST_LEASE_SECONDS": "0.001"}
    crashed = subprocess.run(
        [sys.executable, "-c", CRASHING_POSTER, store.url, str(sent_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert crashed.returncode == -9, crashed.stderr  # killed between the two steps
    [first] = posts(sent_file)

    report = post_replies(
        store, Settings(), live=True, make_client=lambda _s: RecordingX(sent_file)
    )
    assert [r.in_reply_to_tweet_id for r in report.unclear] == [first]
    assert sorted(posts(sent_file)) == ["1", "2", "3"]  # each once: the crashed one not again
    states = {r.in_reply_to_tweet_id: r.state for r in store.list_replies()}
    assert states == {first: UNCLEAR} | {t: POSTED for t in {"2", "3", "1"} - {first}}
    assert [r.state for r in store.list_replies(states=[UNCLEAR])] == [UNCLEAR]

    # a later run leaves it alone too; a person resolves it
    again = post_replies(store, Settings(), live=True, make_client=lambda _s: RecordingX(sent_file))
    assert again.posted == [] and len(posts(sent_file)) == 3
    [unclear] = store.list_replies(states=[UNCLEAR])
    assert actions.decide_reply(store, unclear.reply_id, False, "lead").state == REJECTED
    assert (
        post_replies(
            store, Settings(), live=True, make_client=lambda _s: RecordingX(sent_file)
        ).posted
        == []
    )
    assert len(posts(sent_file)) == 3


def test_approving_an_unclear_reply_posts_it_once_more(store: TicketStore, tmp_path: Path) -> None:
    sent_file = tmp_path / "x.jsonl"
    [reply, *_] = store.replies_to_post()
    assert store.claim_for_posting(reply.reply_id, "run-1", LEASE) is not None  # died here
    assert store.claim_for_posting(reply.reply_id, "run-2", LEASE) is None  # nobody claims twice
    assert store.mark_unclear("run-2") == []  # run-1's lease still holds: not run-2's to judge
    assert [r.reply_id for r in store.mark_unclear("run-1")] == [reply.reply_id]
    assert actions.decide_reply(store, reply.reply_id, True, "lead").state == APPROVED
    report = post_replies(
        store, Settings(), live=True, make_client=lambda _s: RecordingX(sent_file)
    )
    assert reply.reply_id in {r for r, _ in report.posted}
    with pytest.raises(UserError, match="not pending"):
        actions.decide_reply(store, reply.reply_id, True, "lead")  # posted is final


def test_a_refused_reply_is_parked_with_its_reason_and_the_run_goes_on(
    store: TicketStore, tmp_path: Path
) -> None:
    """X refusing the second of three replies (a 4xx) parks that one; the other two go out,
    and later runs do not stop on it."""
    sent_file = tmp_path / "x.jsonl"
    x = RecordingX(sent_file, refuse=frozenset({"2"}))
    report = post_replies(store, Settings(), live=True, make_client=lambda _s: x)
    assert sorted(posts(sent_file)) == ["1", "3"]
    [(refused_id, reason)] = report.refused
    assert "HTTP 400" in reason and "too long" in reason
    refused = store.list_replies(states=[REFUSED])
    assert [(r.reply_id, r.in_reply_to_tweet_id, r.refusal) for r in refused] == [
        (refused_id, "2", reason)
    ]
    again = post_replies(store, Settings(), live=True, make_client=lambda _s: x)
    assert again.posted == [] and again.refused == []  # parked: not tried again on its own

    # a person shortens it and approves it: the next run posts it
    actions.edit_reply(store, refused_id, "Sorry! We are on it.", "alice")
    actions.decide_reply(store, refused_id, True, "alice")
    fixed = post_replies(store, Settings(), live=True, make_client=lambda _s: RecordingX(sent_file))
    assert [r for r, _ in fixed.posted] == [refused_id]
    assert sorted(posts(sent_file)) == ["1", "2", "3"]


@pytest.mark.parametrize("status", [401, 403, 429])
def test_credentials_or_rate_limits_stop_the_run_and_leave_the_reply_approved(
    store: TicketStore, tmp_path: Path, status: int
) -> None:
    """No fault of the reply: it is not parked as refused, and the next run posts it."""
    sent_file = tmp_path / "x.jsonl"
    with pytest.raises(UserError, match=f"HTTP {status}"):
        post_replies(
            store, Settings(), live=True, make_client=lambda _s: RecordingX(sent_file, status)
        )
    assert len(store.replies_to_post()) == 3 and store.list_replies(states=[REFUSED]) == []


def test_overlapping_runs_leave_each_others_replies_alone(
    store: TicketStore, tmp_path: Path
) -> None:
    """Run B starts while run A is posting a reply: B neither marks it unclear nor posts it,
    and an agent cannot approve it back into the queue meanwhile."""
    sent_file = tmp_path / "x.jsonl"
    during: dict[str, Any] = {}

    class XThatWaitsForB(RecordingX):
        def create_tweet(self, *, text: str, in_reply_to_tweet_id: str) -> tweepy.Response:
            if not during:  # A's first reply: B runs, and an agent acts, before X answers A
                [held] = store.list_replies(states=[POSTING])
                during["held"] = held
                during["b"] = post_replies(
                    store, Settings(), live=True, make_client=lambda _s: RecordingX(sent_file)
                )
                with pytest.raises(UserError, match="not pending"):
                    actions.decide_reply(store, held.reply_id, True, "alice")
            return super().create_tweet(text=text, in_reply_to_tweet_id=in_reply_to_tweet_id)

    a = post_replies(store, Settings(), live=True, make_client=lambda _s: XThatWaitsForB(sent_file))
    b = during["b"]
    assert b.unclear == []  # A is alive: its reply is A's to record
    assert during["held"].reply_id not in {r for r, _ in b.posted}
    assert sorted(posts(sent_file)) == ["1", "2", "3"]  # each exactly once
    assert sorted(r for r, _ in a.posted + b.posted) == sorted(
        r.reply_id for r in store.list_replies(states=[POSTED])
    )
    assert {r.state for r in store.list_replies()} == {POSTED}


def test_a_server_error_leaves_only_that_reply_unclear(store: TicketStore, tmp_path: Path) -> None:
    sent_file = tmp_path / "x.jsonl"
    with pytest.raises(UserError, match="may be on X or not"):
        post_replies(
            store, Settings(), live=True, make_client=lambda _s: RecordingX(sent_file, 503)
        )
    assert len(store.list_replies(states=[UNCLEAR])) == 1
    assert len(store.replies_to_post()) == 2


def test_a_dry_run_changes_no_state(store: TicketStore) -> None:
    [reply, *_] = store.replies_to_post()
    store.claim_for_posting(reply.reply_id, "run-1", LEASE)
    report = post_replies(store, Settings(), live=False)
    assert len(report.would_post) == 2 and report.unclear == []
    assert store.list_replies(states=[UNCLEAR]) == []


def test_the_cli_lists_an_unclear_reply_as_pending_and_a_decision_resolves_it(
    store: TicketStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWEETCARE_TICKETS_DB_URL", store.url)
    monkeypatch.setenv("COLUMNS", "200")
    [reply, *_] = store.replies_to_post()
    store.claim_for_posting(reply.reply_id, "run-1", LEASE)
    store.mark_unclear("run-1")  # what X failing while run-1 posted it does
    runner = CliRunner()
    listed = runner.invoke(app, ["replies", "pending", "--json"])
    assert listed.exit_code == 0, listed.output
    [pending] = [json.loads(line) for line in listed.output.splitlines()]
    assert (pending["reply_id"], pending["state"]) == (reply.reply_id, UNCLEAR)
    table = runner.invoke(app, ["replies", "pending"])
    assert "unclear" in table.output and "check X" in table.output
    rejected = runner.invoke(app, ["replies", "reject", reply.reply_id, "--user", "carol"])
    assert rejected.exit_code == 0 and "rejected 1" in rejected.output
    assert [(e.actor, e.action) for e in audit.trail(store.url, reply.ticket_id)] == [
        ("carol", "reject")
    ]
    assert runner.invoke(app, ["replies", "pending", "--json"]).output.strip() == ""
