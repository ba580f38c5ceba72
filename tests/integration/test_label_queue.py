"""The Label queue in a real headless chromium, against the console's known lake and tickets.

An agent labels the two tweets the models are least sure of, one with the mouse and one with the
keyboard shortcuts; `tweetcare data labels export` then writes both with their labels, and the
audit trail holds one entry per label under the agent's name.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from playwright.sync_api import expect
from typer.testing import CliRunner

from tests.fixtures.console import LOAD_MS, RunningConsole, shown_or_explained, sign_in
from tweetcare.cli import app
from tweetcare.tickets import audit

pytestmark = pytest.mark.integration

PARAMS_FILE = Path(__file__).resolve().parents[2] / "params.yaml"
CHOSEN = "stBaseButton-primary"


def button(page: Any, label: str) -> Any:
    """A button of the page by its label (its text also shows its shortcut key)."""
    main = page.get_by_test_id("stMain")
    return main.get_by_role("button").filter(has_text=re.compile(f"^{re.escape(label)}"))


def chosen(page: Any, label: str) -> None:
    """Wait until the button `label` is the one chosen, and the only one of that label (a rerun
    shows the last run's buttons, greyed, until it draws its own)."""
    expect(button(page, label)).to_have_count(1, timeout=LOAD_MS)
    expect(button(page, label)).to_have_attribute("data-testid", CHOSEN, timeout=LOAD_MS)


def offered(page: Any, console: RunningConsole, tweet_id: str, model_category: str) -> None:
    """Wait until the queue offers `tweet_id`, its buttons drawn, its model's category chosen."""
    caption = page.get_by_text(re.compile(rf"^tweet {tweet_id} · conversation"))
    shown_or_explained(page, caption, console, f"tweet {tweet_id} in the Label queue")
    chosen(page, model_category)


def export(console: RunningConsole, tmp_path: Path, task: str) -> dict[str, str]:
    """`tweetcare data labels export --task TASK` into tmp_path: tweet id -> label."""
    params = yaml.safe_load(PARAMS_FILE.read_text())
    params["data"]["labelled"] = str(tmp_path / "labelled")
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(params))
    args = ["data", "labels", "export", "--task", task, "--params", str(params_file)]
    env = {"TWEETCARE_TICKETS_DB_URL": console.data.tickets_db_url}
    done = CliRunner().invoke(app, [*args, "--dvc-file", ""], env=env)
    assert done.exit_code == 0, done.output
    written = pd.read_csv(tmp_path / "labelled" / task / "agents.csv", dtype=str)
    assert list(written.columns) == ["tweet_id", "conversation_id", "text", "label"]
    return dict(zip(written["tweet_id"], written["label"], strict=True))


def test_an_agent_labels_by_mouse_and_by_keyboard_and_the_export_has_both(
    console_app: RunningConsole, page: Any, screenshots: Path, tmp_path: Path
) -> None:
    agent = console_app.agent
    sign_in(page, f"{console_app.url}/labels", console_app)
    # the least sure first: billing at 62% (tests.fixtures.console_data), then the neutral
    # tweet whose score sits nearest a class boundary
    offered(page, console_app, "301", "billing")
    page.get_by_text("4 tweets to label").wait_for()
    for label in ("account", "neutral", "No ticket"):  # by mouse, waiting for each to show
        button(page, label).click()
        chosen(page, label)
    button(page, "Save label").click()
    page.get_by_text(f"Tweet 301 labelled by {agent}: account, neutral, no ticket.").wait_for()

    offered(page, console_app, "401", "technical")
    page.get_by_text("3 tweets to label").wait_for()
    for key, label in (("7", "product"), ("a", "negative"), ("n", "No ticket")):  # by keyboard
        page.keyboard.press(key)
        chosen(page, label)
    page.keyboard.press("Enter")
    page.get_by_text(f"Tweet 401 labelled by {agent}: product, negative, no ticket.").wait_for()
    page.get_by_text("2 tweets to label").wait_for()  # neither is offered again
    latest = page.get_by_test_id("stTable").filter(has_text="product, negative")
    latest.wait_for()
    assert latest.inner_text().count(agent) == 2
    shoot = screenshots / "console-label-queue.png"
    page.screenshot(path=str(shoot))
    print(f"screenshot: {shoot}")

    assert export(console_app, tmp_path, "category") == {"301": "account", "401": "product"}
    assert export(console_app, tmp_path, "sentiment") == {"301": "neutral", "401": "negative"}
    assert export(console_app, tmp_path, "needs_ticket") == {"301": "no", "401": "no"}
    entries = audit.recent(console_app.data.tickets_db_url, audit.LABEL)
    assert sorted((e.target_id, e.actor) for e in entries) == [("301", agent), ("401", agent)]
