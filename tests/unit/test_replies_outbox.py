"""The reply outbox: a crash between posting a reply and recording it never posts it twice."""

from __future__ import annotations

import json
import subprocess
import sys
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
from tweetcare.tickets import TicketStore
from tweetcare.tickets.models import APPROVED, POSTED, REJECTED, UNCLEAR
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


class RecordingX:
    """Stands in for tweepy.Client: appends each tweet to the same file the crashed run used."""

    def __init__(self, sent_file: Path, status: int | None = None) -> None:
        self.sent_file = sent_file
        self.status = status

    def create_tweet(self, *, text: str, in_reply_to_tweet_id: str) -> tweepy.Response:
        if self.status is not None:
            response = requests.Response()
            response.status_code = self.status
            raise tweepy.HTTPException(response, response_json={"title": "nope"})
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
    crashed = subprocess.run(
        [sys.executable, "-c", CRASHING_POSTER, store.url, str(sent_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
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
    assert store.decide_reply(unclear.reply_id, approve=False).state == REJECTED
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
    assert store.claim_for_posting(reply.reply_id) is not None  # a run that died right here
    assert store.claim_for_posting(reply.reply_id) is None  # nobody claims it twice
    assert [r.reply_id for r in store.mark_unclear()] == [reply.reply_id]
    assert store.decide_reply(reply.reply_id, approve=True).state == APPROVED
    report = post_replies(
        store, Settings(), live=True, make_client=lambda _s: RecordingX(sent_file)
    )
    assert reply.reply_id in {r for r, _ in report.posted}
    with pytest.raises(UserError, match="not pending"):
        store.decide_reply(reply.reply_id, approve=True)  # posted is final


def test_x_refusing_a_reply_leaves_it_approved_and_a_server_error_leaves_it_unclear(
    store: TicketStore, tmp_path: Path
) -> None:
    sent_file = tmp_path / "x.jsonl"
    with pytest.raises(UserError, match="X refused reply"):
        post_replies(
            store, Settings(), live=True, make_client=lambda _s: RecordingX(sent_file, 400)
        )
    assert len(store.replies_to_post()) == 3  # nothing was posted: all still approved
    with pytest.raises(UserError, match="may be on X or not"):
        post_replies(
            store, Settings(), live=True, make_client=lambda _s: RecordingX(sent_file, 503)
        )
    assert len(store.list_replies(states=[UNCLEAR])) == 1
    assert len(store.replies_to_post()) == 2


def test_a_dry_run_changes_no_state(store: TicketStore) -> None:
    [reply, *_] = store.replies_to_post()
    store.claim_for_posting(reply.reply_id)
    report = post_replies(store, Settings(), live=False)
    assert len(report.would_post) == 2 and report.unclear == []
    assert store.list_replies(states=[UNCLEAR]) == []


def test_the_cli_lists_an_unclear_reply_as_pending_and_a_decision_resolves_it(
    store: TicketStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWEETCARE_TICKETS_DB_URL", store.url)
    monkeypatch.setenv("COLUMNS", "200")
    [reply, *_] = store.replies_to_post()
    store.claim_for_posting(reply.reply_id)
    store.mark_unclear()  # what the next post run does with a reply a crash left in `posting`
    runner = CliRunner()
    listed = runner.invoke(app, ["replies", "pending", "--json"])
    assert listed.exit_code == 0, listed.output
    [pending] = [json.loads(line) for line in listed.output.splitlines()]
    assert (pending["reply_id"], pending["state"]) == (reply.reply_id, UNCLEAR)
    table = runner.invoke(app, ["replies", "pending"])
    assert "unclear" in table.output and "check X" in table.output
    rejected = runner.invoke(app, ["replies", "reject", reply.reply_id])
    assert rejected.exit_code == 0 and "rejected 1" in rejected.output
    assert runner.invoke(app, ["replies", "pending", "--json"]).output.strip() == ""
