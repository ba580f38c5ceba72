"""A `tweetcare replies post --live` process killed (-9) between X publishing a reply and the
store recording it, pinned by `TWEETCARE_TEST_KILL_AT`, then started again: the X stand-in's own
record shows every reply published exactly once, and the one caught in between waits for a person
as `unclear` instead of going out twice."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.x_standin import XStandIn
from tests.unit.test_tickets import customer
from tweetcare.core.kill_points import KILL_AT_ENV, KILL_ONCE_ENV, POSTER_AFTER_X_ACCEPT
from tweetcare.core.settings import Settings
from tweetcare.tickets import TicketStore
from tweetcare.tickets.models import POSTED, UNCLEAR
from tweetcare.tickets.replies import load_replies
from tweetcare.tickets.routing import load_routing

pytestmark = pytest.mark.integration

TWEETCARE = str(Path(sys.executable).parent / "tweetcare")
REPLIES = 3
# generous: a CLI process imports the project on a busy 2-core machine
RUN_TIMEOUT_S = 300


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TicketStore]:
    """Three confident tickets, so three replies the gate approved."""
    store = TicketStore(f"sqlite:///{tmp_path / 'tickets.db'}")
    store.create_schema()
    settings = Settings()
    events = [customer(str(n), str(n), 10 + n) for n in range(1, REPLIES + 1)]
    store.apply(
        events, load_routing(settings.routing_config), load_replies(settings.replies_config)
    )
    assert len(store.replies_to_post()) == REPLIES
    yield store
    store.close()


def post_live(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TWEETCARE, "replies", "post", "--live"],
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )


def poster_env(store: TicketStore, x: XStandIn) -> dict[str, str]:
    return os.environ | {
        "TWEETCARE_TICKETS_DB_URL": store.url,
        "TWEETCARE_X_API_BASE_URL": x.url,
        "TWEETCARE_X_API_KEY": "key",
        "TWEETCARE_X_API_SECRET": "secret",
        "TWEETCARE_X_ACCESS_TOKEN": "token",
        "TWEETCARE_X_ACCESS_TOKEN_SECRET": "token-secret",
        # the killed run's lease has run out by the time the next one starts: it is dead
        "TWEETCARE_REPLY_POST_LEASE_SECONDS": "0.001",
        "COLUMNS": "200",
    }


def test_a_poster_killed_after_x_accepted_a_reply_never_posts_it_again(
    store: TicketStore, tmp_path: Path
) -> None:
    with XStandIn([], {}, [], {}) as x:
        env = poster_env(store, x)
        pinned = env | {KILL_AT_ENV: POSTER_AFTER_X_ACCEPT, KILL_ONCE_ENV: str(tmp_path / "k")}
        killed = post_live(pinned)
        assert killed.returncode == -9, killed.stderr
        [caught] = x.published()  # X has it; the store never heard back

        # started again as a supervisor would, same environment: the point fires only once
        again = post_live(pinned)
        assert again.returncode == 0, again.stderr
        assert "Traceback" not in again.stderr
        assert "was being posted when a run stopped" in again.stdout
        assert f"posted {REPLIES - 1} replies" in again.stdout

        # and once more: nothing is left to post, nothing goes out twice
        last = post_live(env)
        assert last.returncode == 0 and "posted 0 replies" in last.stdout, last.stderr

        per_reply = Counter(post.in_reply_to for post in x.published())
    assert per_reply == {str(n): 1 for n in range(1, REPLIES + 1)}  # raw count: no duplicates
    states = {r.in_reply_to_tweet_id: r.state for r in store.list_replies()}
    assert states == {t: POSTED for t in per_reply} | {caught.in_reply_to: UNCLEAR}
    posted = {r.in_reply_to_tweet_id: r.posted_tweet_id for r in store.list_replies()}
    by_x = {post.in_reply_to: post.tweet_id for post in x.published()}
    assert {t: posted[t] for t in posted if t != caught.in_reply_to} == {
        t: by_x[t] for t in by_x if t != caught.in_reply_to
    }  # the store records the tweet ids X gave
