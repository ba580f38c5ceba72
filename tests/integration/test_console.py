"""The agent console in a real headless chromium, against a real `bentoml serve` and known tickets.

Each test signs in as the console's agent and drives the page the way an agent would (type,
click, filter, approve) and saves a screenshot under reports/screenshots/ as a test artefact;
one checks that an anonymous visitor gets nothing but the sign-in form.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.fixtures.console import RunningConsole, shown_or_explained, sign_in
from tweetcare.core.settings import Settings
from tweetcare.tickets import audit
from tweetcare.tickets.corrections import export_frame
from tweetcare.tickets.models import APPROVED, PENDING
from tweetcare.tickets.routing import load_routing
from tweetcare.tickets.store import TicketStore
from tweetcare.ui.data import format_when

pytestmark = pytest.mark.integration

TWEET = "@AmazonHelp my package never arrived and nobody answers"
CONFIDENCE = re.compile(r"(\d{1,3}\.\d)% confidence")


def shoot(page: Any, folder: Path, name: str) -> Path:
    path = folder / f"console-{name}.png"
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path


def choose(page: Any, form: Any, label: str, option: str) -> None:
    """Pick ``option`` in ``form``'s select box ``label`` by typing it, as an agent would, then
    clicking the option it leaves. Keystrokes sent at the box before its input had focus were lost
    on a busy machine, so the test fills the input, opens the list with the arrow key (filling
    alone does not open it) and waits for the box to show the choice."""
    box = form.get_by_role("combobox", name=label)
    box.fill(option)
    box.press("ArrowDown")
    page.get_by_role("option", name=option, exact=True).click()
    expect(box).to_have_value(option)


def most_urgent(tickets: list[dict[str, Any]]) -> dict[str, Any]:
    """By routing.yaml's priority order, then the SLA due first: the queue's order."""
    levels = load_routing(Settings().routing_config).priority.levels
    return min(tickets, key=lambda t: (levels.index(t["priority"]), t["sla_due_at"]))


def number(ticket: dict[str, Any]) -> str:
    """A ticket as the console names it: `#` and its number."""
    return f"#{ticket['ticket_number']}"


def open_ticket(console: RunningConsole, conversation: str) -> dict[str, Any]:
    return console.data.tickets[conversation]


def test_try_a_tweet_shows_the_prediction_with_its_confidence(
    console_app: RunningConsole, page: Any, screenshots: Path
) -> None:
    sign_in(page, console_app.url, console_app)
    page.get_by_role("textbox", name="Tweet").fill(TWEET)
    page.get_by_role("button", name="Analyze").click()
    metric = page.get_by_test_id("stMetric").filter(has_text="Inbound / outbound")
    metric.get_by_text("confidence").wait_for()
    shown = metric.inner_text()

    answer = httpx.post(f"{console_app.model_url}/classify", json={"texts": [TWEET]}).json()[0]
    assert answer["label"] in shown
    match = CONFIDENCE.search(shown)
    assert match is not None, shown
    assert float(match.group(1)) == pytest.approx(100 * answer["probability"], abs=0.051)
    assert page.get_by_text("Opens a ticket").is_visible()
    shoot(page, screenshots, "try-a-tweet")


def test_a_queue_filters_by_brand_and_opens_the_most_urgent_ticket(
    console_app: RunningConsole, page: Any, screenshots: Path
) -> None:
    sign_in(page, f"{console_app.url}/queues", console_app)
    page.get_by_text("3 of 4 tickets").wait_for()  # open tickets only, by default
    page.get_by_test_id("stMultiSelect").filter(has_text="Brand").click()
    page.get_by_role("option", name="AmazonHelp").click()
    page.keyboard.press("Escape")
    page.get_by_text("2 of 4 tickets").wait_for()

    queues = page.get_by_test_id("stTable").filter(has_text="sla")
    tables = " ".join(queues.all_inner_texts())
    delivery = open_ticket(console_app, "c-delivery")
    billing = open_ticket(console_app, "c-billing")
    travel = open_ticket(console_app, "c-travel")
    # the queue names tickets by their short number; the long id stays off it
    assert number(delivery) in tables and number(billing) in tables
    assert number(travel) not in tables and "TC-" not in tables  # BlueJetAir's is filtered out
    headings = page.get_by_role("heading").all_inner_texts()
    teams = Counter(t["team"] for t in (delivery, billing))
    assert all(f"{team} · {n}" in headings for team, n in teams.items())
    first = most_urgent([delivery, billing])  # the one the page opens
    page.get_by_role("heading", name=f"Ticket {number(first)}").wait_for()
    assert page.get_by_text(first["text"]).last.is_visible()
    shoot(page, screenshots, "queues-filtered")


def test_a_link_opens_a_ticket_the_filters_hide(
    console_app: RunningConsole, page: Any, screenshots: Path
) -> None:
    answered = open_ticket(console_app, "c-tech")
    assert answered["status"] != "open"  # the default filter (status: open) hides it
    link = f"{console_app.url}/queues?ticket={answered['ticket_number']}"  # or #N, or TC-…
    sign_in(page, link, console_app)
    page.get_by_text("3 of 4 tickets").wait_for()  # the filters are as they were
    page.get_by_role("heading", name=f"Ticket {number(answered)}").wait_for()
    assert page.get_by_text(answered["text"]).last.is_visible()
    shoot(page, screenshots, "linked-ticket")


def test_an_agent_finds_a_ticket_by_the_number_a_customer_quotes(
    console_app: RunningConsole, page: Any, screenshots: Path
) -> None:
    answered = open_ticket(console_app, "c-tech")  # hidden by the default filter (open)
    sign_in(page, f"{console_app.url}/queues", console_app)
    page.get_by_text("3 of 4 tickets").wait_for()
    find = page.get_by_role("textbox", name="Find a ticket")
    find.fill(number(answered))
    find.press("Enter")
    page.get_by_role("heading", name=f"Ticket {number(answered)}").wait_for()
    assert page.get_by_text(answered["ticket_id"]).is_visible()  # the long id, once, below
    find.fill("#9999")
    find.press("Enter")
    page.get_by_text("No ticket #9999 in the ticket store.").wait_for()
    shoot(page, screenshots, "found-ticket")


def test_an_agent_approves_a_held_reply(
    console_app: RunningConsole, page: Any, screenshots: Path
) -> None:
    store = TicketStore(console_app.data.tickets_db_url)
    pending_before = {r.ticket_id for r in store.list_replies(PENDING)}
    held = [
        t
        for t in console_app.data.tickets.values()
        if t["ticket_id"] in pending_before and t["status"] == "open"
    ]
    assert held  # the known tickets hold replies for a person (urgent; low confidence)
    first = most_urgent(held)

    sign_in(page, f"{console_app.url}/queues", console_app)
    page.get_by_text("Only replies awaiting approval").click()
    page.get_by_role("heading", name=f"Ticket {number(first)}").wait_for()
    page.get_by_text("held because").wait_for()
    page.get_by_role("button", name="Approve reply").click()
    reply_id = f"RE-{first['ticket_id'].removeprefix('TC-')}"
    page.get_by_text(f"Reply {reply_id} approved; not published").wait_for()  # no Kafka here

    decided = {r.ticket_id: r.decision for r in store.list_replies()}
    store.close()
    assert decided[first["ticket_id"]] == APPROVED
    assert {t for t, d in decided.items() if d == PENDING} == pending_before - {first["ticket_id"]}
    [entry] = audit.trail(console_app.data.tickets_db_url, first["ticket_id"])
    assert (entry.actor, entry.action, entry.target_id) == (console_app.agent, "approve", reply_id)

    # a link to the ticket opens it, and its view shows who approved it
    sign_in(page, f"{console_app.url}/queues?ticket={first['ticket_id']}", console_app)
    page.get_by_role("heading", name=f"Ticket {number(first)}").wait_for()
    trail = page.get_by_test_id("stTable").filter(has_text="approve")
    trail.wait_for()
    assert console_app.agent in trail.inner_text() and reply_id in trail.inner_text()
    shoot(page, screenshots, "reply-approved")


def test_an_anonymous_visitor_gets_only_the_sign_in_form(
    console_app: RunningConsole, page: Any, screenshots: Path
) -> None:
    page.goto(f"{console_app.url}/queues")
    page.get_by_text("Agent sign-in").wait_for()
    page.get_by_role("textbox", name="Username").fill(console_app.agent)
    page.get_by_role("textbox", name="Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Wrong user name or password").wait_for()

    shown = page.get_by_test_id("stApp").inner_text()
    ticket_ids = [t["ticket_id"] for t in console_app.data.tickets.values()]
    assert not any(ticket_id in shown for ticket_id in ticket_ids)
    for action in ("Approve reply", "Reject reply", "Close ticket", "Save edit"):
        assert page.get_by_role("button", name=action).count() == 0
    assert page.get_by_text("Backends").count() == 0  # nothing about the services either
    shoot(page, screenshots, "anonymous")


def test_live_and_models_pages_show_the_stream_and_the_champion(
    console_app: RunningConsole, page: Any, screenshots: Path
) -> None:
    sign_in(page, f"{console_app.url}/live", console_app)
    dead = page.get_by_test_id("stMetric").filter(has_text="Dead letters")
    dead.wait_for()
    assert dead.inner_text().split()[-1] == "1"  # one dead letter in the known batches
    page.get_by_text("First response time per brand").wait_for()
    page.get_by_test_id("stTable").filter(has_text="SpotifyCares").wait_for()
    shoot(page, screenshots, "live")

    sign_in(page, f"{console_app.url}/models", console_app)
    champion = page.get_by_text("is @champion")
    shown_or_explained(page, champion, console_app, "the Models page's champion")
    comparison = page.get_by_test_id("stTable").filter(has_text="baseline-unigram")
    shown_or_explained(page, comparison, console_app, "the Models page's comparison")
    assert "The comparison picked baseline" in page.get_by_test_id("stMain").inner_text()
    # the known lake's shadow answers: 4 of the 5 tweets agreed, the challenger missed one
    shadow = page.get_by_test_id("stTable").filter(has_text="only challenger right")
    shown_or_explained(page, shadow, console_app, "the Models page's shadow scoring")
    cells = shadow.locator("td").all_inner_texts()
    assert cells[:5] == ["1", "2", "5", "0.8000", "5"], cells
    shown = page.get_by_test_id("stMain").inner_text()
    assert "It stays challenger: not enough live evidence: 5 labelled tweets" in shown
    assert "serves v1 (@champion), and v2 (@challenger) in shadow" in shown
    shoot(page, screenshots, "models")


def test_an_agent_corrects_a_category_and_the_ticket_moves_team(
    console_app: RunningConsole, page: Any, screenshots: Path
) -> None:
    travel = open_ticket(console_app, "c-travel")
    assert (travel["category"], travel["team"]) == ("travel", "ops-control")
    sign_in(page, f"{console_app.url}/queues?ticket={travel['ticket_id']}", console_app)
    page.get_by_role("heading", name=f"Ticket {number(travel)}").wait_for()
    page.get_by_text("Correct the models").click()
    choose(page, page.get_by_test_id("stForm"), "Category", "service")
    page.get_by_role("button", name="Save correction").click()
    page.get_by_text(f"Corrected by {console_app.agent}: category travel → service.").wait_for()
    shoot(page, screenshots, "correction")

    store = TicketStore(console_app.data.tickets_db_url)
    ticket = store.get_ticket(travel["ticket_id"])
    labels = export_frame(store).set_index("tweet_id")
    store.close()
    # BlueJetAir's own rule for service complaints (routing.yaml) now routes it
    assert (ticket.category, ticket.team) == ("service", "cabin-services")
    row = labels.loc[travel["first_tweet_id"]]
    assert (row.category, row.corrected, row.agent) == ("service", "category", console_app.agent)
    entries = audit.trail(console_app.data.tickets_db_url, travel["ticket_id"])
    assert ("correct", "category: travel -> service") in {(e.action, e.detail) for e in entries}


def test_an_active_incident_shows_on_every_page_and_monitoring_shows_drift_and_alerts(
    console_app: RunningConsole, page: Any, screenshots: Path
) -> None:
    data = console_app.data
    assert data.incident_since is not None
    since = format_when(data.incident_since, datetime.now(UTC))
    sign_in(page, f"{console_app.url}/queues", console_app)
    banner = page.get_by_text("Active incident: spike of delivery complaints for @AmazonHelp")
    shown_or_explained(page, banner, console_app, "the incident banner on the Queues page")
    assert f"since {since} — tickets in scope are raised one priority level" in banner.inner_text()
    page.get_by_text("3 of 4 tickets").wait_for()  # the queue is drawn under it
    page.get_by_test_id("stTable").first.wait_for()
    shoot(page, screenshots, "incident-banner")

    page.get_by_test_id("stMain").get_by_role("link", name="Monitoring").click()
    page.get_by_role("heading", name="Monitoring", exact=True).wait_for()
    assert page.url.endswith("/monitoring")
    # the latest judged window breached `language` against the window before it
    windows = page.get_by_test_id("stTable").filter(has_text="prediction drift")
    shown_or_explained(page, windows, console_app, "the Monitoring page's windows")
    rows = windows.locator("tbody tr").all_inner_texts()
    assert len(rows) == 5, rows  # 3 windows; the oldest has no window before it
    assert "language 0.41 (limit 0.2) — over" in rows[0] and "drift.language" in rows[0]
    assert all("none" in row for row in rows[1:])
    breach = page.get_by_text("breached: drift.language vs previous 0.41 (limit 0.2)")
    assert breach.is_visible()
    # the escalation incident the monitor recorded, and the one that expired
    incidents = page.get_by_test_id("stTable").filter(has_text=data.incident_alert_id)
    shown_or_explained(page, incidents, console_app, "the Monitoring page's incidents")
    active, expired = (
        [cell.strip() for cell in row.locator("td").all_inner_texts()]
        for row in incidents.locator("tbody tr").all()
    )
    assert active[:5] == [
        "active",
        "complaints",
        "brand @AmazonHelp, category delivery",
        data.incident_alert_id,
        since,  # first seen
    ], active
    assert expired[:3] == ["expired", "outage", "brand @SpotifyCares"], expired
    assert page.get_by_text("Active incident:").count() == 1  # the banner shows here too, once
    shoot(page, screenshots, "monitoring")
