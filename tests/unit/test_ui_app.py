"""The console's pages, run by Streamlit's in-process test runner: a down backend is a message
that names it and the command that starts it, never a traceback; known tickets show in queues."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.fixtures.bento import free_port
from tests.fixtures.console_data import write_console_data
from tweetcare.core.errors import UserError
from tweetcare.core.schemas import Analysis
from tweetcare.core.settings import Settings
from tweetcare.tickets.routing import load_routing
from tweetcare.ui import backends
from tweetcare.ui.config import APP_PATH
from tweetcare.ui.data import ANALYZE, RunRecord, VersionRecord
from tweetcare.ui.launcher import console_command, console_env
from tweetcare.ui.safe import escape_markdown
from tweetcare.ui.users import add_user

TIMEOUT = 60


def view_script(module: str) -> str:
    """A script that renders one page exactly as the app does (guarded, settings from env)."""
    return (
        "from tweetcare.core.settings import get_settings\n"
        "from tweetcare.ui.components import guarded\n"
        f"from tweetcare.ui import {module}\n"
        f"guarded({module}.render, get_settings())\n"
    )


def run_view(module: str) -> AppTest:
    app = AppTest.from_string(view_script(module), default_timeout=TIMEOUT)
    return app.run()


@pytest.fixture
def nothing_running(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("TWEETCARE_BENTO_PORT", str(free_port()))
    monkeypatch.setenv("TWEETCARE_TICKETS_DB_URL", f"sqlite:///{tmp_path / 'tickets.db'}")
    monkeypatch.setenv("TWEETCARE_LAKE_DIR", str(tmp_path / "lake"))
    monkeypatch.setenv("TWEETCARE_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    return tmp_path


@pytest.mark.parametrize(
    ("module", "backend", "command"),
    [
        ("queues", "ticket store", "tweetcare demo"),
        ("live", "ticket store", "tweetcare demo"),
        ("models", "MLflow", "dvc repro"),
    ],
)
def test_a_page_whose_backend_is_down_says_which_and_how_to_start_it(
    nothing_running: Path, module: str, backend: str, command: str
) -> None:
    app = run_view(module)
    assert not app.exception
    errors = [e.value for e in app.error]
    assert len(errors) == 1 and backend in errors[0] and command in errors[0]
    assert not any(nothing_running.iterdir())  # reading created no database


def test_try_a_tweet_names_the_model_server_when_it_is_down(nothing_running: Path) -> None:
    app = run_view("try_tweet")
    app.text_area[0].input("@AcmeHelp my order never arrived")
    app.button[0].click().run()
    assert not app.exception
    [error] = [e.value for e in app.error]
    assert "model server (BentoML)" in error and "tweetcare serve start" in error


def test_the_whole_app_lists_every_backend_in_the_sidebar(
    nothing_running: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = nothing_running / "users.yaml"
    add_user(users, "alice", "a long password")
    monkeypatch.setenv("TWEETCARE_CONSOLE_USERS_FILE", str(users))
    app = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT)
    app.session_state["authentication_status"] = True  # signed in (tests/unit/test_ui_auth.py)
    app.session_state["username"] = "alice"
    app.run()
    assert not app.exception
    sidebar = " ".join(m.value for m in app.sidebar.markdown)
    for backend in ("model server (BentoML)", "ticket store", "Delta lake", "MLflow"):
        assert backend in sidebar


def test_queues_show_known_tickets_by_team(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data = write_console_data(tmp_path, datetime.now(UTC))
    monkeypatch.setenv("TWEETCARE_TICKETS_DB_URL", data.tickets_db_url)
    monkeypatch.setenv("TWEETCARE_LAKE_DIR", str(data.lake_dir))
    app = run_view("queues")
    assert not app.exception and not app.error
    assert any("3 of 4 tickets" in c.value for c in app.caption)  # open ones by default
    headings = [h.value for h in app.subheader]
    levels = load_routing(Settings().routing_config).priority.levels
    open_tickets = [t for t in data.tickets.values() if t["status"] == "open"]
    first = min(open_tickets, key=lambda t: (levels.index(t["priority"]), t["sla_due_at"]))
    assert headings[0].startswith(f"{first['team']} · ")  # the most urgent ticket's team leads
    assert f"Ticket #{first['ticket_number']}" in headings  # and it is the one opened


def test_live_shows_the_recent_batches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data = write_console_data(tmp_path, datetime.now(UTC))
    monkeypatch.setenv("TWEETCARE_TICKETS_DB_URL", data.tickets_db_url)
    monkeypatch.setenv("TWEETCARE_LAKE_DIR", str(data.lake_dir))
    app = run_view("live")
    assert not app.exception and not app.error
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Inbound share"] == "57%"  # 57 inbound of 100 valid in the known batches
    assert metrics["Tickets opened"] == "21" and metrics["Dead letters"] == "1"


def test_the_console_command_runs_the_app_headless_with_our_settings(tmp_path: Path) -> None:
    command = console_command(8765)
    assert command[1:4] == ["-m", "streamlit", "run"] and str(APP_PATH) in command
    assert command[command.index("--server.port") + 1] == "8765"
    env = console_env(Settings(lake_dir=tmp_path / "lake"))
    assert env["TWEETCARE_LAKE_DIR"] == str((tmp_path / "lake").resolve())


def test_tweetcare_ui_refuses_a_busy_port() -> None:
    import socket

    from tweetcare.cli.ui import start

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(UserError, match="already in use"):
            start(port=busy.getsockname()[1])
    with pytest.raises(UserError, match="between 1 and 65535"):
        start(port=70000)


def test_try_a_tweet_shows_a_full_analysis(
    monkeypatch: pytest.MonkeyPatch, nothing_running: Path
) -> None:
    text = "@BlueJetAir flight BJ212 cancelled, call 555-0142"
    body = {
        "inbound": True,
        "inbound_probability": 0.96,
        "sentiment": "negative",
        "sentiment_score": -0.62,
        "category": "travel",
        "category_confidence": 0.91,
        "entities": [
            {"start": 19, "end": 24, "label": "FLIGHT", "text": "BJ212"},
            {"start": 41, "end": 49, "label": "PHONE", "text": "<phone>"},
        ],
        "language": "en",
        "flags": [],
        "needs_ticket": True,
        "masked_text": "@BlueJetAir flight BJ212 cancelled, call <phone>",
        "models": {"tweet-inbound": "3 (run-x)"},
    }
    monkeypatch.setattr(backends, "analyze", lambda settings, t: backends.Answer(ANALYZE, body))
    app = run_view("try_tweet")
    app.text_area[0].input(text)
    app.button[0].click().run()
    assert not app.exception and not app.error
    metrics = {m.label: (m.value, m.delta) for m in app.metric}
    assert metrics["Inbound / outbound"] == ("inbound", "96.0% confidence")
    assert metrics["Sentiment"] == ("negative", "score -0.62")
    assert metrics["Category"] == ("travel", "91.0% confidence")
    marked = next(m.value for m in app.markdown if "<mark" in m.value)
    assert "BJ212" in marked and "&lt;phone&gt;" in marked and "555-0142" not in marked
    page = " ".join(m.value for m in app.markdown)
    rules = load_routing(Settings().routing_config)  # whatever routing.yaml says today
    analysis = Analysis.model_validate(body)
    team = rules.team_for(rules.category_of(analysis), "BlueJetAir")
    assert f"Team **{team}** · priority **{rules.priority_for(analysis, text)}**" in page
    # the drafted reply names the ticket's number (given when the stream opens it), never an id
    assert any("ticket #" in t.value.lower() and "TC-" not in t.value for t in app.text)


def test_models_page_shows_the_comparison_and_why_the_champion_won(
    monkeypatch: pytest.MonkeyPatch, nothing_running: Path
) -> None:
    parent = RunRecord(
        "p1", "compare", params={"f1_tie_tolerance": "0.002"}, tags={backends.WINNER_TAG: "gru"}
    )
    runs = [
        RunRecord("r1", "baseline", {"test_f1": 0.91, "test_accuracy": 0.92}),
        RunRecord("r2", "gru", {"test_f1": 0.95, "latency_ms_per_tweet_b1": 1.5}),
    ]
    reason = "beats champion: test F1 0.9500 > 0.9100"
    versions = [
        VersionRecord("2", "r2", ("champion",), {backends.REASON_TAG: reason}),
        VersionRecord("1", "r1", ("challenger",), {}),
    ]
    analysis = {"tweet-sentiment": VersionRecord("4", "s4", ("champion",)), "tweet-category": None}
    snapshot = backends.ModelsSnapshot(parent, runs, versions, analysis)
    monkeypatch.setattr(backends, "read_models", lambda settings: snapshot)
    app = run_view("models")
    assert not app.exception and not app.error
    page = " ".join(m.value for m in app.markdown)
    assert f"version 2 (run r2) is @champion: {reason}" in page
    assert "The comparison picked **gru**" in page and "ties within 0.002" in page
    tables = [t.value for t in app.table]
    comparison = next(t for t in tables if "f1" in t.columns)
    assert comparison["model"].tolist() == ["gru", "baseline"]  # best F1 first
    analysis_table = next(t for t in tables if "model" in t.columns and "run" in t.columns)
    assert analysis_table["version"].tolist() == ["4 (@champion)", "not registered"]


def test_an_invalid_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWEETCARE_BENTO_PORT", "not-a-port")
    app = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT).run()
    assert not app.exception
    [error] = [e.value for e in app.error]
    assert "bento_port" in error


def test_monitoring_before_any_monitor_run_says_which_command_fills_it(
    nothing_running: Path,
) -> None:
    app = run_view("monitoring")
    assert not app.exception
    assert any("tweetcare monitor run" in i.value for i in app.info)  # the lake's figures
    [error] = [e.value for e in app.error]  # the incidents: the ticket store does not exist
    assert "ticket store" in error and "tweetcare demo" in error
    assert not any(nothing_running.iterdir())  # reading created no database


def test_monitoring_shows_the_monitors_windows_breaches_and_incidents(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = write_console_data(tmp_path, datetime.now(UTC))
    monkeypatch.setenv("TWEETCARE_TICKETS_DB_URL", data.tickets_db_url)
    monkeypatch.setenv("TWEETCARE_LAKE_DIR", str(data.lake_dir))
    app = run_view("monitoring")
    assert not app.exception and not app.error
    [warning] = [w.value for w in app.warning]
    assert "breached: drift.language vs previous 0.41 (limit 0.2)" in warning
    tables = [t.value for t in app.table]
    incidents = next(t for t in tables if "alert id" in t.columns)
    assert incidents["state"].tolist() == ["active", "expired"]
    assert incidents["alert id"].iloc[0] == escape_markdown(data.incident_alert_id)
    windows = next(t for t in tables if "input drift" in t.columns)
    assert len(windows) == 5  # 3 windows: the first has no window before it
    assert windows["breaches"].iloc[0] == r"drift\.language"  # escaped for st.table
    assert "tweetcare kafka start" not in " ".join(m.value for m in app.markdown)  # not asked


def test_every_signed_in_page_shows_an_active_incident(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = write_console_data(tmp_path, datetime.now(UTC))
    users = tmp_path / "users.yaml"
    add_user(users, "alice", "a long password")
    monkeypatch.setenv("TWEETCARE_CONSOLE_USERS_FILE", str(users))
    monkeypatch.setenv("TWEETCARE_TICKETS_DB_URL", data.tickets_db_url)
    monkeypatch.setenv("TWEETCARE_LAKE_DIR", str(data.lake_dir))
    monkeypatch.setenv("TWEETCARE_BENTO_PORT", str(free_port()))
    app = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT)
    app.session_state["authentication_status"] = True
    app.session_state["username"] = "alice"
    app.run()
    assert not app.exception
    [banner] = [w.value for w in app.warning if "Active incident" in w.value]
    assert "spike of delivery complaints for @AmazonHelp" in banner
    assert "raised one priority level" in banner
