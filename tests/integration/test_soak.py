"""Soak: agents in the console (Playwright) and at the CLI act on the same tickets on Postgres
while two `tweetcare replies post --live` loops overlap against an X stand-in that accepts,
refuses (4xx), fails (5xx) and loses answers at random (seeded), for `SOAK_SECONDS`.

Then, with a last post run to drain what is approved: every reply X published went out at most
once (X's own record, counted per reply, not as distinct ids), every reply X refused is parked
with X's reason, nothing approved is left behind, every action that went through has exactly one
audit entry and every refused one a one-line message, and no edit was silently overwritten (each
edit's audit entry names the text the one before it saved). The figures are printed.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.fixtures.bento import free_port
from tests.fixtures.console import LOAD_MS, wait_healthy
from tests.fixtures.x_standin import (
    ACCEPTED,
    ANSWER_LOST,
    FAILED,
    PUBLISHED,
    REFUSAL_DETAIL,
    REFUSED,
    Posting,
    XStandIn,
)
from tests.unit.test_tickets import customer
from tweetcare.core.settings import Settings
from tweetcare.tickets import TicketStore, audit
from tweetcare.tickets.models import APPROVED, DRAFTED, OPEN, POSTED, POSTING, REJECTED, UNCLEAR
from tweetcare.tickets.models import REFUSED as REFUSED_STATE
from tweetcare.tickets.replies import load_replies
from tweetcare.tickets.routing import load_routing
from tweetcare.ui.launcher import console_command, console_env, console_url
from tweetcare.ui.users import add_user

pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.timeout(1800)]

TWEETCARE = str(Path(sys.executable).parent / "tweetcare")
SEED = 29
SOAK_SECONDS = 120.0
CONFIDENT, HELD = 14, 22  # tickets whose reply the gate approves, and holds for a person
X_ANSWERS = Posting(seed=SEED, refuse=0.2, fail=0.1, lose_answer=0.1)
CONSOLE_AGENTS = ("console-ann", "console-dan")
CLI_AGENTS = ("cli-bob", "cli-cat")
PASSWORD = "a soak test's long password"
# agents work the head of a queue, so they often reach for the same reply or ticket at once
QUEUE_HEAD = 3
# an agent's next move: approve or reject a reply, edit its text, close a ticket
MOVES = {"approve": 4, "reject": 1, "edit": 3, "close": 2}
BUTTONS = {"approve": "Approve reply", "reject": "Reject reply", "close": "Close ticket"}
# generous: a CLI process imports the project on a busy 2-core machine
RUN_TIMEOUT_S = 300


@dataclass(frozen=True)
class Move:
    action: str
    target: str  # a reply id, or a ticket id for a close
    ticket_id: str
    version: int
    text: str = ""  # an edit's new text


@dataclass(frozen=True)
class Done:
    """One agent action and what became of it."""

    agent: str
    move: Move
    ok: bool
    message: str
    via: str  # "cli" or "console"


@dataclass
class Soak:
    done: list[Done]
    runs: list[subprocess.CompletedProcess[str]]
    lock: threading.Lock
    stop: threading.Event


@pytest.fixture(scope="module")
def settings(postgres_tickets_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The ticket store on Postgres with both kinds of ticket, and agents who may decide."""
    root = tmp_path_factory.mktemp("soak")
    users = root / "users.yaml"
    for agent in CONSOLE_AGENTS:
        add_user(users, agent, PASSWORD, role="lead")  # leads also decide refused replies
    settings = Settings(
        tickets_db_url=postgres_tickets_url,
        console_users_file=users,
        lake_dir=root / "lake",
        state_dir=root / "state",
        mlflow_tracking_uri=f"sqlite:///{root / 'mlflow.db'}",
        bento_port=free_port(),  # no model server, no broker: the queues work without them
        kafka_port=free_port(),
    )
    store = TicketStore(settings.tickets_db_url)
    store.create_schema()
    events = [customer(f"c{n}", f"c{n}", n) for n in range(CONFIDENT)]
    events += [customer(f"h{n}", f"h{n}", n, category_confidence=0.5) for n in range(HELD)]
    store.apply(
        events, load_routing(settings.routing_config), load_replies(settings.replies_config)
    )
    assert len(store.replies_to_post()) == CONFIDENT
    assert len(store.list_replies(limit=1000, states=[DRAFTED])) == HELD
    store.close()
    return settings


@pytest.fixture(scope="module")
def console(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log_path = tmp_path_factory.mktemp("soak-console") / "streamlit.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            console_command(port),
            env={**os.environ, **console_env(settings)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_healthy(console_url(port), process, log_path)
            yield console_url(port)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
    assert "Traceback" not in log_path.read_text(errors="replace")


def choose(store: TicketStore, rng: random.Random, agent: str, n: int) -> Move | None:
    """What an agent sees now and picks from the head of a queue: a reply waiting for a person
    (oldest first; not one of unclear outcome: that needs a look at X first), or an open ticket
    (most recently changed first)."""
    action = rng.choices(list(MOVES), weights=list(MOVES.values()))[0]
    if action == "close":
        tickets = store.list_tickets(limit=1000, status=OPEN)
        if not tickets:
            return None
        ticket = rng.choice(tickets[:QUEUE_HEAD])
        return Move(action, ticket.ticket_id, ticket.ticket_id, ticket.version)
    replies = store.list_replies(limit=1000, states=[DRAFTED, REFUSED_STATE])
    if not replies:
        return None
    reply = rng.choice(replies[:QUEUE_HEAD])
    text = f"Sorry for the trouble: we are on it and will DM you. ({agent}, edit {n})"
    return Move(action, reply.reply_id, reply.ticket_id, reply.version, text)


def cli_args(move: Move, agent: str) -> list[str]:
    who = ["--user", agent, "--expect-version", str(move.version)]
    if move.action == "close":
        return [TWEETCARE, "tickets", "close", move.target, *who]
    if move.action == "edit":
        return [TWEETCARE, "replies", "edit", move.target, move.text, *who]
    extra = ["--no-publish"] if move.action == "approve" else []
    return [TWEETCARE, "replies", move.action, move.target, *extra, *who]


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
    )


def cli_agent(soak: Soak, settings: Settings, env: dict[str, str], agent: str) -> None:
    rng = random.Random(f"{SEED}:{agent}")
    store = TicketStore(settings.tickets_db_url)
    try:
        n = 0
        while not soak.stop.is_set():
            move = choose(store, rng, agent, n := n + 1)
            if move is None:
                continue
            done = run(cli_args(move, agent), env)
            message = (done.stdout if done.returncode == 0 else done.stderr).strip()
            with soak.lock:
                soak.done.append(Done(agent, move, done.returncode == 0, message, "cli"))
                soak.runs.append(done)
    finally:
        store.close()


def poster(soak: Soak, env: dict[str, str]) -> None:
    while not soak.stop.is_set():
        done = run([TWEETCARE, "replies", "post", "--live"], env)
        with soak.lock:
            soak.runs.append(done)


def sign_in(page: Any, url: str, agent: str) -> None:
    page.goto(url)
    form = page.get_by_role("textbox", name="Username")
    signed = page.get_by_text("Signed in as")
    form.or_(signed).first.wait_for()
    if form.is_visible():
        form.fill(agent)
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        signed.wait_for()


def console_act(page: Any, url: str, agent: str, move: Move) -> Done | None:
    """Open the move's ticket and click, as the agent would; None when the page does not offer
    the move any more (the row moved on before the page was drawn)."""
    sign_in(page, f"{url}/queues?ticket={move.ticket_id}", agent)
    page.get_by_text("Correct the models").wait_for()  # drawn below the reply and close buttons
    if move.action == "edit":
        area = page.get_by_role("textbox", name="Edit the reply")
        if area.count() == 0:
            return None
        area.fill(move.text)
        area.press("Control+Enter")
        button = page.get_by_role("button", name="Save edit")
        expect(button).to_be_enabled()
    else:
        button = page.get_by_role("button", name=BUTTONS[move.action])
        if button.count() == 0:
            return None
    button.click()
    success = page.get_by_test_id("stAlertContentSuccess")
    error = page.get_by_test_id("stAlertContentError")
    success.or_(error).first.wait_for()
    ok = success.count() > 0
    shown = (success if ok else error).first.inner_text()
    return Done(agent, move, ok, shown.strip(), "console")


def console_agents(soak: Soak, settings: Settings, browser: Any, url: str, until: float) -> None:
    """The console's agents take turns in their own browser sessions (Playwright's sync API
    keeps to one thread) while the CLI agents and post runs go on in theirs."""
    store = TicketStore(settings.tickets_db_url)
    viewport = {"width": 1400, "height": 1600}
    contexts = [browser.new_context(viewport=viewport) for _ in CONSOLE_AGENTS]
    pages = [context.new_page() for context in contexts]
    rngs = [random.Random(f"{SEED}:{agent}") for agent in CONSOLE_AGENTS]
    try:
        for page in pages:
            page.set_default_timeout(LOAD_MS)
        n = 0
        while time.monotonic() < until:
            n += 1
            turn = n % len(CONSOLE_AGENTS)
            agent = CONSOLE_AGENTS[turn]
            move = choose(store, rngs[turn], agent, n)
            if move is None:
                continue
            done = console_act(pages[turn], url, agent, move)
            if done is not None:
                with soak.lock:
                    soak.done.append(done)
    finally:
        for context in contexts:
            context.close()
        store.close()


def in_threads(*targets: Callable[[], None]) -> list[threading.Thread]:
    threads = [threading.Thread(target=target, daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    return threads


def test_agents_and_overlapping_post_runs_lose_nothing_and_post_nothing_twice(
    settings: Settings, console: str, browser: Any
) -> None:
    soak = Soak([], [], threading.Lock(), threading.Event())
    with XStandIn([], {}, [], {}, posting=X_ANSWERS) as x:
        env = os.environ | console_env(settings) | {"COLUMNS": "200"}
        env |= {
            "TWEETCARE_X_API_BASE_URL": x.url,
            "TWEETCARE_X_API_KEY": "soak-key",
            "TWEETCARE_X_API_SECRET": "soak-secret",
            "TWEETCARE_X_ACCESS_TOKEN": "soak-token",
            "TWEETCARE_X_ACCESS_TOKEN_SECRET": "soak-token-secret",
        }
        threads = in_threads(
            *(lambda a=agent: cli_agent(soak, settings, env, a) for agent in CLI_AGENTS),
            lambda: poster(soak, env),
            lambda: poster(soak, env),
        )
        try:
            console_agents(soak, settings, browser, console, time.monotonic() + SOAK_SECONDS)
        finally:
            soak.stop.set()
            for thread in threads:
                thread.join(timeout=RUN_TIMEOUT_S)
        # the last post run, with X up: whatever is approved goes out (or is refused)
        x.posting = replace(X_ANSWERS, fail=0.0, lose_answer=0.0)
        drain = run([TWEETCARE, "replies", "post", "--live"], env)
        assert drain.returncode == 0, drain.stderr
        posts = list(x.posts)
    store = TicketStore(settings.tickets_db_url)
    replies = {r.in_reply_to_tweet_id: r for r in store.list_replies(limit=1000)}
    tickets = store.list_tickets(limit=1000)
    trail = [e for t in tickets for e in audit.trail(store.url, t.ticket_id)]
    store.close()

    published = Counter(p.in_reply_to for p in posts if p.outcome in PUBLISHED)
    duplicates = sum(n - 1 for n in published.values())
    agents = set(CONSOLE_AGENTS) | set(CLI_AGENTS)
    entries = [e for e in trail if e.actor in agents]
    went_through = [d for d in soak.done if d.ok]
    refused_actions = [d for d in soak.done if not d.ok]
    print(
        f"\nsoak figures ({SOAK_SECONDS:.0f} s, seed {SEED}): actions {len(soak.done)} "
        f"({Counter(d.via for d in soak.done)}), went through {len(went_through)}, "
        f"conflicts refused {len(refused_actions)}, post runs {len(soak.runs)}, "
        f"calls to X {len(posts)} ({Counter(p.outcome for p in posts)}), replies posted "
        f"{len(published)}, duplicates {duplicates}, audit entries {len(entries)}"
    )
    for done in refused_actions[:5]:
        print(f"  refused ({done.via}, {done.agent} {done.move.action}): {done.message}")

    # posted at most once, by X's own record
    assert duplicates == 0, [(t, n) for t, n in published.items() if n > 1]
    # each refusal parked with X's reason (or rejected since by a person), never published
    refused_by_x = {p.in_reply_to for p in posts if p.outcome == REFUSED}
    assert refused_by_x and not refused_by_x & set(published)
    for tweet in refused_by_x:
        reply = replies[tweet]
        assert reply.state in {REFUSED_STATE, REJECTED}, (tweet, reply.state)
        if reply.state == REFUSED_STATE:
            assert "HTTP 400" in reply.refusal and REFUSAL_DETAIL in reply.refusal
    # the others went out: nothing approved or being posted is left; what X has is recorded
    states = Counter(r.state for r in replies.values())
    assert states[APPROVED] == 0 and states[POSTING] == 0, states
    for tweet, reply in replies.items():
        if reply.state == POSTED:
            assert published[tweet] == 1
            [post] = [p for p in posts if p.in_reply_to == tweet and p.outcome == ACCEPTED]
            assert reply.posted_tweet_id == post.tweet_id
        elif reply.state == UNCLEAR:  # X failed or its answer was lost while it was posted
            last = [p.outcome for p in posts if p.in_reply_to == tweet][-1]
            assert last in {FAILED, ANSWER_LOST}, (tweet, last)
        else:
            assert published[tweet] == 0, (tweet, reply.state)
    # every action that went through has exactly one audit entry; a refused one has none
    assert Counter((e.actor, e.action, e.target_id) for e in entries) == Counter(
        (d.agent, d.move.action, d.move.target) for d in went_through
    )
    # each refusal was said in one line: a console error, or the CLI's one `error:` line
    for done in refused_actions:
        assert done.message and "Traceback" not in done.message
        if done.via == "cli":
            assert done.message.startswith("error: ") and len(done.message.splitlines()) == 1
    for done in soak.runs:
        # 1: a failure to act on (X failed, a conflict); 2: a command called wrong
        assert done.returncode in {0, 1, 2} and "Traceback" not in done.stderr, done.stderr
    # the CLI's agents acted on the version they saw: no two went through on one version
    seen = Counter((d.move.target, d.move.version) for d in went_through if d.via == "cli")
    assert all(n == 1 for n in seen.values()), seen
    # no edit silently overwrote another: each edit's entry names the text the one before saved
    edits = Counter(d.move.target for d in went_through if d.move.action == "edit")
    by_id = {r.reply_id: r for r in replies.values()}
    for reply_id in edits:
        saved = [e for e in entries if e.action == "edit" and e.target_id == reply_id]
        texts = [
            d.move.text
            for d in went_through
            if d.move.target == reply_id and d.move.action == "edit"
        ]
        follows = [e.detail.removeprefix("was: ") for e in saved[1:]] + [by_id[reply_id].text]
        assert sorted(follows) == sorted(texts), (reply_id, follows, texts)
