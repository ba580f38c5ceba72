"""What the console's pages compute: confidence, highlights, queue order, SLA, live figures."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from tweetcare.core.schemas import Entity
from tweetcare.ui.data import (
    ANALYZE,
    CLASSIFY,
    UNASSIGNED,
    RunRecord,
    VersionRecord,
    alert_table,
    analysis_view,
    breach_table,
    champion_explanation,
    comparison_frame,
    describe_incident,
    filter_options,
    filter_queue,
    first_response_from_lake,
    first_response_from_tickets,
    format_duration,
    format_when,
    highlight_entities,
    incident_banner_text,
    incident_table,
    live_timeline,
    live_totals,
    metric_history,
    priority_rank,
    queue_frame,
    queue_table,
    queues_by_team,
    sla_text,
    ticket_decision,
    ticket_label,
    window_detail,
    window_ends,
    window_table,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
LEVELS = ("urgent", "high", "normal", "low")


def analyze_answer(**changes: object) -> dict[str, object]:
    answer: dict[str, object] = {
        "inbound": True,
        "inbound_probability": 0.9,
        "sentiment": "negative",
        "sentiment_score": -0.5,
        "category": "delivery",
        "category_confidence": 0.8,
        "entities": [],
        "language": "en",
        "flags": [],
        "needs_ticket": True,
        "masked_text": "x",
        "models": {},
    }
    return answer | changes


# --- Try a tweet ---------------------------------------------------------------------------------


def test_confidence_is_the_probability_of_the_predicted_label() -> None:
    inbound = analysis_view("t", analyze_answer(inbound_probability=0.9), ANALYZE)
    outbound = analysis_view("t", analyze_answer(inbound=False, inbound_probability=0.2), ANALYZE)
    assert (inbound.label, inbound.confidence) == ("inbound", pytest.approx(0.9))
    assert (outbound.label, outbound.confidence) == ("outbound", pytest.approx(0.8))
    assert inbound.complete


def test_a_classify_answer_becomes_a_partial_analysis() -> None:
    answer = {"label": "outbound", "inbound": False, "probability": 0.7, "inbound_probability": 0.3}
    view = analysis_view("@123 please DM us", answer, CLASSIFY)
    assert not view.complete
    assert view.confidence == pytest.approx(0.7)
    assert view.analysis.category is None and view.analysis.entities == []
    assert view.analysis.needs_ticket is False and view.analysis.masked_text == "@123 please DM us"


def test_entities_are_marked_and_pii_shows_only_masked() -> None:
    text = "call 555-0142 <now> about BJ212"
    entities = [
        Entity(start=5, end=13, label="PHONE", text="[PHONE]"),
        {"start": 26, "end": 31, "label": "FLIGHT", "text": "BJ212"},
        {"start": 27, "end": 29, "label": "PERSON", "text": "J2"},  # overlaps: dropped
    ]
    marked = highlight_entities(text, entities)
    assert "555-0142" not in marked and "[PHONE]" in marked
    assert marked.count("<mark") == 2 and "PERSON" not in marked
    assert "&lt;now&gt;" in marked  # the tweet's own text is escaped
    assert marked.startswith("call ") and "about " in marked


def test_ticket_decision_says_why() -> None:
    def decision(**changes: object) -> str:
        return ticket_decision(analysis_view("t", analyze_answer(**changes), ANALYZE))

    assert decision() == "Opens a ticket about **delivery**."
    assert decision(inbound=False, needs_ticket=False).startswith(
        "No ticket: this reads as a brand"
    )
    flagged = decision(needs_ticket=False, flags=["spam", "not_english"])
    assert flagged == "No ticket: flagged `spam`, `not_english`."


# --- Queues --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "levels", "rank"),
    [("high", LEVELS, 1), ("low", LEVELS, 3), ("urgent", (), 0), ("P2", (), 2), (3, (), 3)],
)
def test_priority_rank(value: object, levels: tuple[str, ...], rank: int) -> None:
    assert priority_rank(value, levels) == rank


def test_unknown_priorities_go_last() -> None:
    assert priority_rank(None) > priority_rank("low") and priority_rank("whenever") > 50


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(45, "45s"), (720, "12m"), (7500, "2h 05m"), (3 * 86400 + 4 * 3600 + 5, "3d 4h"), (None, "—")],
)
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


def test_sla_text_counts_down_and_then_overdue() -> None:
    assert sla_text(3600) == "due in 1h 00m"
    assert sla_text(-720) == "overdue by 12m"
    assert sla_text(float("nan")) == "—"


def ticket(ticket_id: str, minutes_old: float, due_in: float | None, **fields: object) -> dict:
    created = NOW - timedelta(minutes=minutes_old)
    return {
        "ticket_id": ticket_id,
        "brand": "AcmeHelp",
        "status": "open",
        "created_at": created.isoformat(),
        "sla_due_at": None if due_in is None else (NOW + timedelta(minutes=due_in)).isoformat(),
        "text": f"tweet {ticket_id}",
        **fields,
    }


def test_queue_sorts_by_priority_then_sla_due_then_age() -> None:
    tickets = [
        ticket("A", 10, 200, priority="normal", team="care"),
        ticket("B", 5, 30, priority="high", team="care"),
        ticket("C", 50, 10, priority="normal", team="care"),
        ticket("D", 90, None, priority="normal", team="care"),
        ticket("E", 1, 20, priority="urgent"),
    ]
    frame = queue_frame(tickets, NOW, LEVELS)
    assert frame["ticket_id"].tolist() == ["E", "B", "C", "A", "D"]
    row = frame.set_index("ticket_id").loc["C"]
    assert (row["age"], row["sla"]) == ("50m", "due in 10m")
    assert frame.set_index("ticket_id").loc["D", "sla"] == "—"
    assert frame.set_index("ticket_id").loc["E", "team"] == UNASSIGNED
    teams = [team for team, _ in queues_by_team(frame)]
    assert teams == [UNASSIGNED, "care"]  # the team holding the most urgent ticket comes first


def test_naive_timestamps_are_read_as_utc() -> None:
    frame = queue_frame([ticket("A", 0, None) | {"created_at": "2026-11-24T11:00:00"}], NOW)
    assert frame.loc[0, "age"] == "1h 00m"


def test_tickets_from_before_routing_still_list() -> None:
    """Older tickets have no team, priority, category or SLA: the queue shows them anyway."""
    old = {"ticket_id": "X", "brand": None, "status": "open", "created_at": NOW.isoformat()}
    frame = queue_frame([old], NOW)
    assert frame.loc[0, "team"] == UNASSIGNED and frame.loc[0, "sla"] == "—"
    assert filter_options(frame)["category"] == []
    table = queue_table(frame, limit=10)
    assert table.loc[0, "brand"] == "—"


def test_filters_combine_and_empty_means_all() -> None:
    tickets = [
        ticket("A", 1, 60, brand="AcmeHelp", category="billing", priority="high"),
        ticket("B", 1, 60, brand="AcmeHelp", category="delivery", priority="low"),
        ticket("C", 1, 60, brand="ShipCo", category="billing", priority="high", status="closed"),
    ]
    frame = queue_frame(tickets, NOW, LEVELS)
    options = filter_options(frame)
    assert options["brand"] == ["AcmeHelp", "ShipCo"] and options["status"] == ["closed", "open"]
    assert len(filter_queue(frame, {"brand": [], "status": []})) == 3
    picked = filter_queue(frame, {"brand": ["AcmeHelp"], "category": ["billing"]})
    assert picked["ticket_id"].tolist() == ["A"]
    assert filter_queue(frame, {"status": ["open"]})["ticket_id"].tolist() == ["A", "B"]


def test_queue_table_keeps_the_first_rows() -> None:
    frame = queue_frame([ticket(str(i), i, 100 + i, priority="low") for i in range(5)], NOW)
    frame["reply"] = "pending"
    table = queue_table(frame, limit=2, extra=["reply"])
    assert table["ticket"].tolist() == ["0", "1"]  # no number yet: the id stands in
    assert list(table.columns)[-2:] == ["reply", "text"]


def test_the_queue_names_tickets_by_number_and_runs_the_sla_clock_from_their_opening() -> None:
    """Replayed history: tweeted in 2017, opened by the stream 5 minutes ago with an hour's SLA.
    Its age and SLA count from the opening, not from the tweet."""
    replayed = ticket("TC-9E74BE99F3095CC9BB645693A9022DAA", 0, 55, ticket_number=10482)
    replayed |= {
        "created_at": "2017-10-31T22:10:47+00:00",
        "opened_at": (NOW - timedelta(minutes=5)).isoformat(),
    }
    frame = queue_frame([replayed], NOW)
    assert (frame.loc[0, "ticket"], frame.loc[0, "age"], frame.loc[0, "sla"]) == (
        "#10482",
        "5m",
        "due in 55m",
    )
    assert ticket_label(replayed) == "#10482"
    assert queue_table(frame, limit=1).loc[0, "ticket"] == "#10482"


# --- Live ----------------------------------------------------------------------------------------


def batch(seconds_ago: float, valid: int, inbound: int, opened: int = 0, dead: int = 0) -> dict:
    return {
        "processed_at": NOW - timedelta(seconds=seconds_ago),
        "n_valid": valid,
        "n_inbound": inbound,
        "n_tickets_opened": opened,
        "n_dead_lettered": dead,
    }


def test_live_timeline_bins_batches_and_fills_gaps() -> None:
    batches = [batch(10, 60, 30, 5), batch(20, 30, 30, 1, 2), batch(50, 90, 0), batch(900, 99, 99)]
    timeline = live_timeline(batches, NOW, window_minutes=2, bin_seconds=30)
    assert len(timeline) == 4 and timeline.index[-1] == pd.Timestamp(NOW)
    last, previous = timeline.iloc[-1], timeline.iloc[-2]
    assert last["tweets_per_second"] == pytest.approx(90 / 30)
    assert last["inbound_share"] == pytest.approx(60 / 90)
    assert (last["tickets_opened"], last["dead_letters"]) == (6, 2)
    assert previous["tweets_per_second"] == pytest.approx(3) and previous["inbound_share"] == 0
    assert math.isnan(timeline.iloc[0]["inbound_share"])  # nothing processed: no share


def test_live_totals_over_the_window() -> None:
    batches = [batch(10, 60, 30, 5, 1), batch(100, 40, 10, 2), batch(4000, 500, 500, 50)]
    totals = live_totals(batches, NOW, window_minutes=5)
    assert (totals.tweets, totals.batches, totals.tickets_opened, totals.dead_letters) == (
        100,
        2,
        7,
        1,
    )
    assert totals.tweets_per_second == pytest.approx(100 / 300)
    assert totals.inbound_share == pytest.approx(0.4)
    assert live_totals([], NOW, 5).inbound_share is None


def test_first_response_from_the_lake_counts_the_brand_that_answered() -> None:
    at = pd.Timestamp("2017-10-31 22:00", tz="UTC")
    rows = [
        ("1", "c1", "111", True, at),
        ("2", "c1", "AcmeHelp", False, at + pd.Timedelta(minutes=10)),
        ("3", "c1", "AcmeHelp", False, at + pd.Timedelta(minutes=30)),  # not the first reply
        ("4", "c2", "222", True, at),
        ("5", "c2", "AcmeHelp", False, at + pd.Timedelta(minutes=20)),
        ("6", "c3", "333", True, at),
        ("7", "c3", "ShipCo", False, at + pd.Timedelta(minutes=2)),
        ("8", "c4", "444", True, at),  # unanswered: not counted
        ("8", "c4", "444", True, at),  # a replayed duplicate
    ]
    tweets = pd.DataFrame(
        rows, columns=["tweet_id", "conversation_id", "author_id", "inbound", "created_at"]
    )
    stats = first_response_from_lake(tweets).set_index("brand")
    assert stats.loc["AcmeHelp", "conversations"] == 2
    assert stats.loc["AcmeHelp", "median_minutes"] == pytest.approx(15.0)
    assert stats.loc["ShipCo", "median_minutes"] == pytest.approx(2.0)
    assert stats.index.tolist() == ["ShipCo", "AcmeHelp"]  # fastest first
    assert first_response_from_lake(tweets.iloc[0:0]).empty


def test_first_response_from_tickets_uses_recorded_times_only() -> None:
    opened = NOW - timedelta(hours=1)
    tickets = [
        {
            "brand": "AcmeHelp",
            "created_at": opened,
            "first_response_at": opened + timedelta(minutes=6),
        },
        {"brand": "AcmeHelp", "created_at": opened, "first_response_at": None},
        {"brand": "AcmeHelp", "created_at": opened.isoformat()},
    ]
    stats = first_response_from_tickets(tickets)
    assert stats["conversations"].tolist() == [1]
    assert stats.loc[0, "median_minutes"] == pytest.approx(6.0)
    assert first_response_from_tickets([]).empty


# --- Models --------------------------------------------------------------------------------------


def test_comparison_frame_orders_by_f1_and_tolerates_missing_metrics() -> None:
    runs = [
        RunRecord(
            "r1", "baseline", {"test_f1": 0.90, "test_accuracy": 0.91}, {"model_family": "tfidf"}
        ),
        RunRecord("r2", "gru", {"test_f1": 0.95, "latency_ms_per_tweet_b1": 2.5}),
    ]
    frame = comparison_frame(runs)
    assert frame["model"].tolist() == ["gru", "baseline"]
    assert frame.loc[1, "family"] == "tfidf" and pd.isna(frame.loc[0, "family"])
    assert frame.loc[0, "latency_ms_b1"] == 2.5 and pd.isna(frame.loc[1, "latency_ms_b1"])
    assert comparison_frame([]).empty


def test_champion_explanation_quotes_the_gate() -> None:
    tags = {"promotion.decision": "champion", "promotion.reason": "beats champion: 0.95 > 0.90"}
    versions = [
        VersionRecord("2", "run2", ("champion",), tags),
        VersionRecord("1", "run1", ("challenger",), {}),
    ]
    why = champion_explanation(versions, "champion", "promotion.decision", "promotion.reason")
    assert why == "version 2 (run run2) is @champion: beats champion: 0.95 > 0.90"
    untagged = champion_explanation(
        versions, "challenger", "promotion.decision", "promotion.reason"
    )
    assert untagged is not None and "no gate decision recorded" in untagged
    assert champion_explanation(versions, "prod", "d", "r") is None


# --- Monitoring ----------------------------------------------------------------------------------


def figure(
    ago: int, reference: str, kind: str, metric: str, value: float, threshold: float, **extra: Any
) -> dict[str, Any]:
    """One row of the lake's `monitoring` table as the runner writes it."""
    end = NOW - timedelta(minutes=ago)
    return {
        "ran_at": end + timedelta(seconds=30),
        "window_start": end - timedelta(minutes=15),
        "window_end": end,
        "rows": 300,
        "reference": reference,
        "kind": kind,
        "metric": metric,
        "method": "share" if kind == "quality" else "psi",
        "value": value,
        "threshold": threshold,
        "breached": value >= threshold if kind == "drift" else value > threshold,
        "mlflow_run_id": None,
        "report": f"/reports/{ago}/vs_{reference}.html",
    } | extra


def monitor_rows() -> pd.DataFrame:
    """Two windows: the older one calm, the newer one over on language and dead letters."""
    rows = [
        figure(20, "training", "drift", "language", 0.05, 0.2),
        figure(20, "training", "drift", "category", 0.10, 0.2),
        figure(20, "training", "quality", "dead_letter_rate", 0.01, 0.05),
        figure(5, "previous", "drift", "language", 0.41, 0.2, mlflow_run_id="run-5"),
        figure(5, "previous", "drift", "brand", 0.20, 0.25, mlflow_run_id="run-5"),
        figure(5, "previous", "drift", "category", 0.05, 0.2, mlflow_run_id="run-5"),
        figure(5, "previous", "quality", "dead_letter_rate", 0.08, 0.05, mlflow_run_id="run-5"),
        figure(5, "previous", "quality", "missing.text", 1.0, 0.02, mlflow_run_id="run-5"),
    ]
    return pd.DataFrame(rows)


def test_each_window_shows_its_worst_figures_and_its_breaches_newest_first() -> None:
    table = window_table(monitor_rows(), NOW)
    assert table["window end"].tolist() == ["11:55 UTC", "11:40 UTC"]
    latest = table.iloc[0].to_dict()
    assert latest["input drift"] == "language 0.41 (limit 0.2) — over"  # over brand's 0.8x
    assert latest["prediction drift"] == "category 0.05 (limit 0.2)"
    assert latest["dead-letter rate"] == "8.0%"
    assert latest["breaches"] == "drift.language, quality.dead_letter_rate, quality.missing.text"
    assert table.iloc[1]["breaches"] == "none" and table.iloc[1]["tweets"] == 300


def test_a_window_judged_twice_shows_its_latest_run_only() -> None:
    rows = monitor_rows()
    rerun = rows[rows["window_end"] == rows["window_end"].max()].copy()
    rerun["ran_at"] += timedelta(minutes=1)
    rerun["value"], rerun["breached"] = 0.01, False
    table = window_table(pd.concat([rows, rerun]), NOW)
    assert len(table) == 2 and table.iloc[0]["breaches"] == "none"


def test_history_puts_every_kind_on_its_threshold_scale_oldest_first() -> None:
    history = metric_history(monitor_rows())
    # missing fields stay off the chart (one absent field is 50 times its limit)
    assert list(history.columns) == ["input drift", "prediction drift", "dead-letter rate"]
    older, newer = history.to_dict("records")
    assert older["input drift"] == pytest.approx(0.25) and older["prediction drift"] == 0.5
    assert newer["input drift"] == pytest.approx(2.05)
    assert newer["dead-letter rate"] == pytest.approx(1.6)
    assert metric_history(pd.DataFrame()).empty


def test_breaches_and_one_windows_figures_and_reports() -> None:
    rows = monitor_rows()
    breaches = breach_table(rows, NOW)
    assert breaches["figure"].tolist() == [
        "drift.language",
        "quality.dead_letter_rate",
        "quality.missing.text",
    ]
    assert breaches.iloc[0][["value", "threshold"]].tolist() == ["0.41", "0.2"]
    latest, older = window_ends(rows)
    detail = window_detail(rows, latest)
    assert detail.figures["breached"].tolist() == ["yes", "yes", "yes", "no", "no"]
    assert detail.reports == {"previous": "/reports/5/vs_previous.html"}
    assert detail.mlflow_run_id == "run-5"
    # rows from a monitor that recorded no report path, nor an MLflow run
    old = window_detail(rows.drop(columns="report"), older)
    assert old.reports == {} and old.mlflow_run_id is None
    assert breach_table(rows[rows["window_end"] == older], NOW).empty


def test_times_read_as_the_clock_today_and_with_the_date_before() -> None:
    assert format_when(NOW - timedelta(minutes=5), NOW) == "11:55 UTC"
    assert format_when("2026-11-23T23:10:00+00:00", NOW) == "2026-11-23 23:10 UTC"
    assert format_when(None, NOW) == "—"


def incident(kind: str, seen_ago: int, ttl: int = 60, **scope: str) -> dict[str, Any]:
    """An incidents row as the console reads it from the ticket store."""
    last = NOW - timedelta(minutes=seen_ago)
    return {
        "kind": kind,
        "brand": scope.get("brand"),
        "category": scope.get("category"),
        "conversation_id": scope.get("conversation_id"),
        "alert_id": f"AL-{kind.upper()}",
        "first_seen": last - timedelta(minutes=10),
        "last_seen": last,
        "expires_at": last + timedelta(minutes=ttl),
    }


def test_incidents_list_active_ones_first_then_the_latest() -> None:
    rows = [
        incident("outage", 200, brand="SpotifyCares"),
        incident("viral_thread", 90, conversation_id="c-9"),
        incident("complaints", 5, brand="AmazonHelp", category="delivery"),
    ]
    table = incident_table(rows, NOW)
    assert table["kind"].tolist() == ["complaints", "viral_thread", "outage"]
    assert table["state"].tolist() == ["active", "expired", "expired"]
    first = table.iloc[0].to_dict()
    assert first["scope"] == "brand @AmazonHelp, category delivery"
    assert (first["first seen"], first["last seen"], first["expires"]) == (
        "11:45 UTC",
        "11:55 UTC",
        "12:55 UTC",
    )


def test_the_banner_names_the_latest_active_incident_and_what_it_does() -> None:
    spike = incident("complaints", 5, brand="AmazonHelp", category="delivery")
    outage = incident("outage", 30, brand="SpotifyCares")
    expired = incident("viral_thread", 90, conversation_id="c-9")
    assert incident_banner_text([expired], NOW, 1) is None
    assert incident_banner_text([spike, expired], NOW, 1) == (
        "Active incident: spike of delivery complaints for @AmazonHelp since 11:45 UTC"
        " — tickets in scope are raised one priority level"
    )
    both = incident_banner_text([outage, spike], NOW, 2)
    assert both is not None and both.endswith("raised 2 priority levels (and 1 more)")
    off = incident_banner_text([outage], NOW, 0)
    assert off is not None and off.startswith("Active incident: outage reports for @SpotifyCares")
    assert "does not raise" in off
    unknown = incident_banner_text([outage], NOW, None)
    assert unknown == "Active incident: outage reports for @SpotifyCares since 11:20 UTC"


def test_incidents_and_alerts_in_words() -> None:
    assert describe_incident({"kind": "complaints", "category": "billing"}) == (
        "spike of billing complaints"
    )
    assert describe_incident({"kind": "viral_thread", "conversation_id": "c-9"}) == (
        "viral thread c-9"
    )
    assert describe_incident({"kind": "surge", "brand": "X"}) == "surge spike for @X"
    messages = [
        {
            "type": "drift",
            "kind": "drift",
            "alert_id": "DR-1",
            "window_end": (NOW - timedelta(minutes=5)).isoformat(),
            "breaches": [{"metric": "drift.language"}, {"metric": "quality.dead_letter_rate"}],
        },
        {
            "type": "escalation",
            "kind": "outage",
            "alert_id": "AL-1",
            "window_end": NOW.isoformat(),
            "brand": "SpotifyCares",
            "count": 12,
            "threshold": 7.5,
        },
    ]
    table = alert_table(messages, NOW)
    assert table.to_dict("records") == [
        {
            "alert id": "DR-1",
            "kind": "drift",
            "window end": "11:55 UTC",
            "scope": "models",
            "what": "drift.language, quality.dead_letter_rate",
        },
        {
            "alert id": "AL-1",
            "kind": "outage",
            "window end": "12:00 UTC",
            "scope": "brand @SpotifyCares",
            "what": "12 tweets (threshold 7.5)",
        },
    ]
