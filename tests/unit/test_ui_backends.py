"""The console's backends: real SQLite stores and lakes in tmp_path, a closed port for a down server."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.bento import free_port
from tests.fixtures.console_data import ConsoleData, write_console_data
from tweetcare.core.errors import UserError
from tweetcare.core.schemas import Analysis
from tweetcare.core.settings import Settings
from tweetcare.tickets.models import APPROVED, PENDING
from tweetcare.tickets.routing import load_routing
from tweetcare.ui import backends, workflow
from tweetcare.ui.data import ANALYZE, CLASSIFY, RunRecord

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.now(UTC)


@pytest.fixture
def data(tmp_path: Path) -> ConsoleData:
    return write_console_data(tmp_path, NOW)


def settings_for(data: ConsoleData | None, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bento_port": free_port(),  # nothing listens there
        "tickets_db_url": f"sqlite:///{tmp_path / 'missing' / 'tickets.db'}",
        "lake_dir": tmp_path / "no-lake",
        "mlflow_tracking_uri": f"sqlite:///{tmp_path / 'missing' / 'mlflow.db'}",
    }
    if data is not None:
        values |= {"tickets_db_url": data.tickets_db_url, "lake_dir": data.lake_dir}
    return Settings(**(values | overrides))


# --- model server --------------------------------------------------------------------------------


def test_a_down_model_server_is_named_with_the_command_that_starts_it(tmp_path: Path) -> None:
    settings = settings_for(None, tmp_path)
    with pytest.raises(backends.BackendDown) as caught:
        backends.analyze(settings, "@AcmeHelp hello")
    err = caught.value
    assert err.backend == backends.MODEL_SERVER and err.where == settings.bento_url
    assert err.detail == "nothing answers there" and "tweetcare serve start" in err.hint
    with pytest.raises(backends.BackendDown):
        backends.model_info(settings)


def fake_server(monkeypatch: pytest.MonkeyPatch, routes: dict[str, httpx.Response]) -> list[str]:
    """Answer httpx.post by path; records the paths asked, in order."""
    asked: list[str] = []

    def post(url: str, **_: Any) -> httpx.Response:
        path = "/" + url.rsplit("/", 1)[-1]
        asked.append(path)
        return routes.get(path, httpx.Response(404, json={"detail": "Not Found"}))

    monkeypatch.setattr(httpx, "post", post)
    return asked


def test_analyze_is_asked_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    body = {"inbound": True, "inbound_probability": 0.9, "needs_ticket": True, "masked_text": "x"}
    asked = fake_server(monkeypatch, {"/analyze": httpx.Response(200, json=[body])})
    answer = backends.analyze(settings_for(None, tmp_path), "x")
    assert (answer.endpoint, answer.body, asked) == (ANALYZE, body, ["/analyze"])


def test_a_server_without_analyze_falls_back_to_classify(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    body = {"label": "inbound", "inbound": True, "probability": 0.8, "inbound_probability": 0.8}
    asked = fake_server(monkeypatch, {"/classify": httpx.Response(200, json=[body])})
    answer = backends.analyze(settings_for(None, tmp_path), "x")
    assert (answer.endpoint, asked) == (CLASSIFY, ["/analyze", "/classify"])
    assert answer.note == "HTTP 404: Not Found"


def test_analysis_models_missing_falls_back_and_says_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    body = {"label": "inbound", "inbound": True, "probability": 0.8, "inbound_probability": 0.8}
    why = "no model registered as tweet-sentiment@champion (stage train_analysis)"
    hidden = {"error": "An unexpected error has occurred, please check the server log."}
    routes = {"/analyze": httpx.Response(503, json=hidden)}
    fake_server(monkeypatch, routes | {"/classify": httpx.Response(200, json=[body])})
    info = {"name": "tweet-inbound", "version": "1", "analyze_unavailable": why}
    monkeypatch.setattr(
        httpx,
        "get",
        lambda url, **_: httpx.Response(200, json=info, request=httpx.Request("GET", url)),
    )
    answer = backends.analyze(settings_for(None, tmp_path), "x")
    assert (answer.endpoint, answer.note) == (CLASSIFY, why)  # /model_info says why


def test_refused_text_and_server_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = settings_for(None, tmp_path)
    fake_server(monkeypatch, {"/analyze": httpx.Response(400, json={"error": "texts[0] is empty"})})
    with pytest.raises(UserError, match="refused the text: HTTP 400: texts\\[0\\] is empty"):
        backends.analyze(settings, "x")
    fake_server(monkeypatch, {"/analyze": httpx.Response(500, text="boom")})
    with pytest.raises(backends.BackendDown, match="HTTP 500"):
        backends.analyze(settings, "x")
    with pytest.raises(UserError, match="type or paste a tweet"):
        backends.analyze(settings, "   ")


# --- ticket store and lake -----------------------------------------------------------------------


def test_a_missing_ticket_store_is_reported_and_not_created(tmp_path: Path) -> None:
    settings = settings_for(None, tmp_path)
    with pytest.raises(backends.BackendDown) as caught:
        backends.read_tickets(settings)
    assert caught.value.backend == backends.TICKET_STORE and "tweetcare demo" in caught.value.hint
    assert not (tmp_path / "missing").exists()


def test_a_store_with_an_old_schema_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE tickets (ticket_id TEXT PRIMARY KEY)")
    settings = settings_for(None, tmp_path, tickets_db_url=f"sqlite:///{path}")
    # the store's own check (UserError) or the SQL error (BackendDown): either names the database
    with pytest.raises((UserError, backends.BackendDown), match=str(path)):
        backends.read_tickets(settings)


def test_tickets_and_batches_are_read_as_plain_records(data: ConsoleData, tmp_path: Path) -> None:
    settings = settings_for(data, tmp_path)
    tickets = {t["conversation_id"]: t for t in backends.read_tickets(settings)}
    assert set(tickets) == {"c-travel", "c-delivery", "c-billing", "c-tech"}
    assert (
        tickets["c-travel"]["priority"] == "urgent" and tickets["c-tech"]["status"] == "responded"
    )
    batches = backends.read_batches(settings, since=NOW - timedelta(hours=1))
    assert [b["n_valid"] for b in batches] == [40, 60]  # oldest first
    assert backends.read_batches(settings, since=NOW + timedelta(minutes=1)) == []


def test_a_thread_comes_from_the_lake_in_time_order(data: ConsoleData, tmp_path: Path) -> None:
    settings = settings_for(data, tmp_path)
    thread = backends.read_thread(settings, "c-tech")
    assert thread["author_id"].tolist() == ["9004", "SpotifyCares"]
    assert thread["inbound"].tolist() == [True, False] and "probability" in thread
    assert backends.read_thread(settings, "no-such-conversation").empty
    with pytest.raises(backends.BackendDown) as caught:
        backends.read_thread(settings_for(None, tmp_path), "c-tech")
    assert caught.value.backend == backends.LAKE


def test_a_lake_without_a_needed_column_says_which(tmp_path: Path) -> None:
    import pyarrow as pa
    from deltalake import write_deltalake

    settings = Settings(lake_dir=tmp_path / "lake")
    write_deltalake(str(tmp_path / "lake" / "tweets"), pa.table({"tweet_id": ["1"]}))
    with pytest.raises(backends.BackendDown, match="no column text"):
        backends.read_lake(settings, ["tweet_id", "text"])


def test_status_names_every_backend_down_with_a_hint(tmp_path: Path) -> None:
    statuses = backends.backend_statuses(settings_for(None, tmp_path))
    assert [s.backend for s in statuses] == [
        backends.MODEL_SERVER,
        backends.TICKET_STORE,
        backends.LAKE,
        backends.MLFLOW,
    ]
    assert not any(s.up for s in statuses) and all(s.hint for s in statuses)


def test_status_sees_the_store_and_the_lake(data: ConsoleData, tmp_path: Path) -> None:
    statuses = {s.backend: s for s in backends.backend_statuses(settings_for(data, tmp_path))}
    assert (
        statuses[backends.TICKET_STORE].up and statuses[backends.TICKET_STORE].detail == "4 tickets"
    )
    assert statuses[backends.LAKE].up and not statuses[backends.MODEL_SERVER].up


# --- MLflow --------------------------------------------------------------------------------------


def test_a_missing_tracking_database_is_reported_and_not_created(tmp_path: Path) -> None:
    with pytest.raises(backends.BackendDown) as caught:
        backends.read_models(settings_for(None, tmp_path))
    assert caught.value.backend == backends.MLFLOW and "dvc repro" in caught.value.hint
    assert not (tmp_path / "missing").exists()


def run(run_id: str, parent: str | None = None) -> RunRecord:
    tags = {backends.PARENT_RUN_TAG: parent} if parent else {}
    return RunRecord(run_id, run_id, tags=tags)


def test_the_latest_comparison_is_the_newest_top_level_run_with_children() -> None:
    newest_first = [
        run("gru-raw", parent="gru"),  # a family's twin: a grandchild
        run("gru", parent="compare-2"),
        run("baseline", parent="compare-2"),
        run("compare-2"),
        run("old-child", parent="compare-1"),
        run("compare-1"),
    ]
    parent, children = backends.latest_training_run(newest_first)
    assert parent is not None and parent.run_id == "compare-2"
    assert [c.run_id for c in children] == ["baseline", "gru"]
    flat_parent, flat = backends.latest_training_run([run("b"), run("a")])
    assert flat_parent is None and [r.run_id for r in flat] == ["b"]


# --- workflow: routing preview and approvals -----------------------------------------------------


def test_preview_routes_like_the_stream_and_holds_urgent_replies(tmp_path: Path) -> None:
    settings = settings_for(None, tmp_path)
    analysis = Analysis(
        inbound=True,
        inbound_probability=0.97,
        sentiment="negative",
        sentiment_score=-0.7,
        category="travel",
        category_confidence=0.95,
        needs_ticket=True,
        masked_text="@BlueJetAir my flight is cancelled, this is an emergency",
    )
    preview = workflow.preview(settings, analysis, analysis.masked_text)
    rules = load_routing(settings.routing_config)
    assert preview is not None
    assert preview.team == rules.team_for("travel", "BlueJetAir")
    assert preview.priority == rules.priority_for(analysis, analysis.masked_text) == "urgent"
    assert preview.decision == PENDING  # urgent words make it urgent; urgent is always held
    assert preview.sla_minutes > 0 and workflow.PREVIEW_REFERENCE in preview.reply
    no_ticket = analysis.model_copy(update={"needs_ticket": False})
    assert workflow.preview(settings, no_ticket, "x") is None
    assert workflow.priority_levels(settings)[0] == "urgent"


def test_an_agent_decides_a_held_reply_once(data: ConsoleData, tmp_path: Path) -> None:
    settings = settings_for(data, tmp_path, kafka_port=free_port())  # no broker there
    travel, billing = data.tickets["c-travel"], data.tickets["c-billing"]
    assert workflow.pending_ticket_ids(settings) == {travel["ticket_id"], billing["ticket_id"]}
    reply = workflow.reply_of(settings, travel["ticket_id"])
    assert reply is not None and reply["decision"] == PENDING
    seen = reply["version"]
    decided = workflow.decide(settings, reply["reply_id"], True, "alice", seen)
    assert decided.reply["decision"] == APPROVED
    assert "not published" in decided.note and "tweetcare kafka start" in decided.note
    with pytest.raises(UserError, match="changed by someone else"):
        workflow.decide(settings, reply["reply_id"], False, "bob", seen)  # bob saw it too
    with pytest.raises(UserError, match="not pending"):
        workflow.decide(settings, reply["reply_id"], False, "bob", decided.reply["version"])
    assert workflow.pending_ticket_ids(settings) == {billing["ticket_id"]}
    trail = workflow.audit_trail(settings, travel["ticket_id"])
    assert [(e.actor, e.action) for e in trail] == [("alice", "approve")]  # the refusal is not
    assert workflow.reply_of(settings, "TC-NOSUCHTICKET") is None


# --- monitoring ----------------------------------------------------------------------------------


def test_the_monitors_record_is_read_as_plain_records(data: ConsoleData, tmp_path: Path) -> None:
    settings = settings_for(data, tmp_path)
    figures = backends.read_monitoring(settings)
    breached = figures[figures["breached"]]
    assert breached[["reference", "metric", "value"]].values.tolist() == [
        ["previous", "language", 0.41]
    ]
    assert figures["report"].str.endswith(".html").all()
    incidents = backends.read_incidents(settings)
    assert [i["kind"] for i in incidents] == ["complaints", "outage"]  # latest seen first
    spike = incidents[0]
    assert (spike["brand"], spike["category"]) == ("AmazonHelp", "delivery")
    assert spike["alert_id"] == data.incident_alert_id
    assert spike["first_seen"] == data.incident_since
    assert backends.active_incidents(settings, NOW) == [spike]
    assert backends.incident_raise_levels(settings) == 1  # config/routing.yaml
    # the monitor's raise is in the store: the delivery ticket carries the incident's alert
    assert data.tickets["c-delivery"]["incident_alert_id"] is not None


def test_monitoring_reads_never_create_and_the_banner_never_fails(tmp_path: Path) -> None:
    settings = settings_for(None, tmp_path, kafka_port=free_port())
    assert backends.read_monitoring(settings).empty  # before the monitor's first run
    assert backends.active_incidents(settings) == []  # no store: no banner, no error
    with pytest.raises(backends.BackendDown) as caught:
        backends.read_incidents(settings)
    assert caught.value.backend == backends.TICKET_STORE
    with pytest.raises(backends.BackendDown) as caught:
        backends.read_alert_messages(settings)
    assert caught.value.backend == backends.KAFKA and "tweetcare kafka start" in caught.value.hint
    assert not (tmp_path / "missing").exists()
