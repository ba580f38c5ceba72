"""`tweetcare monitor run` on the real stack: a Delta lake written with `deltalake` from a
language-shifted stream with a burst of outage complaints, a real Kafka broker and an MLflow
sqlite registry. The breach and the escalations must reach the `alerts` topic, the HTML
reports MLflow, the figures the lake's `monitoring` table; the escalations become incidents in a
ticket store that raise the priority of the open tickets they cover."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from mlflow.tracking import MlflowClient

from streaming.lake import DEAD_LETTER_SCHEMA, TWEET_SCHEMA
from tests.unit.test_tickets import customer
from tweetcare.core.settings import Settings
from tweetcare.data.generator import generate
from tweetcare.monitoring import scenarios
from tweetcare.monitoring.alerts import read_alerts
from tweetcare.monitoring.tracking import EXPERIMENT
from tweetcare.tickets import TicketStore, audit
from tweetcare.tickets.models import ticket_id_for
from tweetcare.tickets.replies import load_replies
from tweetcare.tickets.routing import load_routing

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TWEETCARE = str(Path(sys.executable).parent / "tweetcare")
DEAD_LETTERS = 12
# generous: the CLI imports Evidently and MLflow on a shared 2-core machine
CLI_TIMEOUT_S = 900


def lake_table(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """Scenario rows in the stream's schema (columns a scenario has no value for stay null)."""
    columns = {name: frame.get(name) for name in schema.names}
    return pa.Table.from_pandas(pd.DataFrame(columns), schema=schema, preserve_index=False)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """A Delta lake: 30 minutes whose language mix shifts halfway, under an hour of steady
    traffic whose last minutes hold a burst of outage complaints to one brand; dead letters.
    It ends a minute ago, so the burst's incidents are still active on the wall clock."""
    project = tmp_path_factory.mktemp("monitor-project")
    start = datetime.now(UTC) - timedelta(minutes=31)
    shifted = scenarios.shifted_stream(3000, seed=21, shift="language", start=start, minutes=30)
    end = shifted["processed_at"].max().to_pydatetime() + timedelta(seconds=1)
    burst = scenarios.burst_stream(1500, seed=22, start=end - timedelta(minutes=65))
    tweets = pd.concat([shifted, burst], ignore_index=True)
    write_deltalake(
        str(project / "lake" / "tweets"),
        lake_table(tweets, TWEET_SCHEMA),
        partition_by=["date", "brand"],
    )
    letters = pd.DataFrame(
        {
            "reason": ["not JSON"] * DEAD_LETTERS,
            "raw": ["{oops"] * DEAD_LETTERS,
            "kafka_timestamp": [end - timedelta(minutes=1)] * DEAD_LETTERS,
            "date": [f"{end:%Y-%m-%d}"] * DEAD_LETTERS,
        }
    )
    write_deltalake(
        str(project / "lake" / "dead_letters"),
        lake_table(letters, DEAD_LETTER_SCHEMA),
        partition_by=["date"],
    )
    # the champion's training split where the featurize stage leaves it
    raw, labels = generate(3000, seed=23)
    features = project / "artifacts" / "features"
    features.mkdir(parents=True)
    raw.merge(labels, on="tweet_id").to_parquet(features / "train.parquet", index=False)
    return project, tweets


@pytest.fixture(scope="module")
def monitor_env(lake: tuple[Path, pd.DataFrame], kafka_env: dict[str, str]) -> dict[str, str]:
    project, _ = lake
    return {
        **os.environ,
        **kafka_env,
        "PYTHONPATH": str(ROOT),
        "TWEETCARE_LAKE_DIR": str(project / "lake"),
        "TWEETCARE_LAKE_URI": "",
        "TWEETCARE_MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}",
        "TWEETCARE_TICKETS_DB_URL": f"sqlite:///{project / 'tickets.db'}",
        "TWEETCARE_ROUTING_CONFIG": str(ROOT / "config" / "routing.yaml"),
    }


@pytest.fixture(scope="module")
def open_tickets(monitor_env: dict[str, str]) -> Settings:
    """Before the monitor runs: an open, calm technical ticket to the burst's brand (normal) and
    one to another brand about a delivery (normal), as the stream would have opened them."""
    settings = Settings(
        tickets_db_url=monitor_env["TWEETCARE_TICKETS_DB_URL"],
        routing_config=Path(monitor_env["TWEETCARE_ROUTING_CONFIG"]),
    )
    store = TicketStore(settings.tickets_db_url)
    store.create_schema()
    calm = {"sentiment": "neutral", "sentiment_score": 0.0}
    events = [
        customer("t-1", "c-telco", 10, text="@TelcoNetHelp my router keeps dropping", **calm),
        customer("t-2", "c-amazon", 10, text="@AmazonHelp no parcel", category="delivery", **calm),
    ]
    store.apply(
        events, load_routing(settings.routing_config), load_replies(settings.replies_config)
    )
    assert {t.priority for t in store.list_tickets()} == {"normal"}
    store.close()
    return settings


def cli(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        [TWEETCARE, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=CLI_TIMEOUT_S,
    )
    if result.returncode != 0:
        pytest.fail(
            f"tweetcare {' '.join(args)} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    return result.stdout


@pytest.fixture(scope="module")
def monitor_run(
    lake: tuple[Path, pd.DataFrame], monitor_env: dict[str, str], open_tickets: Settings
) -> dict:
    project, _ = lake
    args = ["monitor", "run", "--window", "15m", "--params", str(ROOT / "params.yaml"), "--json"]
    return json.loads(cli(args, project, monitor_env).strip().splitlines()[-1])


def test_the_shift_is_a_breach_on_the_alerts_topic(
    monitor_run: dict, kafka_broker: Settings
) -> None:
    assert monitor_run["breached"] and monitor_run["dead_letters"] == DEAD_LETTERS
    references = {c["reference"]: c for c in monitor_run["comparisons"]}
    assert set(references) == {"training", "previous"}
    assert "drift.language" in references["previous"]["breaches"]
    messages = read_alerts(kafka_broker, limit=100, wait_ms=5000)
    drift = [m for m in messages if m["type"] == "drift"]
    assert len(drift) == 1
    assert any(
        b["reference"] == "previous" and b["metric"] == "drift.language"
        for b in drift[0]["breaches"]
    )
    assert drift[0]["mlflow_run_id"] == monitor_run["mlflow_run_id"]


def test_the_burst_is_an_escalation_with_its_tweets(
    monitor_run: dict, kafka_broker: Settings, lake: tuple[Path, pd.DataFrame]
) -> None:
    _, tweets = lake
    burst_ids = {t for t in tweets["tweet_id"] if t.startswith("burst-")}
    messages = read_alerts(kafka_broker, limit=100, wait_ms=5000)
    outage = [m for m in messages if m["type"] == "escalation" and m["kind"] == "outage"]
    assert [m["brand"] for m in outage] == ["TelcoNetHelp"]
    spike = next(
        m
        for m in messages
        if m.get("kind") == "complaints"
        and m["key"] == {"brand": "TelcoNetHelp", "category": "technical"}
    )
    assert burst_ids <= set(spike["tweet_ids"])


def test_reports_and_figures_are_recorded(
    monitor_run: dict, lake: tuple[Path, pd.DataFrame], monitor_env: dict[str, str]
) -> None:
    project, _ = lake
    client = MlflowClient(monitor_env["TWEETCARE_MLFLOW_TRACKING_URI"])
    run = client.get_run(monitor_run["mlflow_run_id"])
    assert client.get_experiment(run.info.experiment_id).name == EXPERIMENT
    assert run.data.metrics["vs_previous.drift.language"] >= 0.2
    logged = {Path(a.path).name for a in client.list_artifacts(run.info.run_id, "reports")}
    assert logged == {"vs_training.html", "vs_previous.html"}
    figures = DeltaTable(str(project / "lake" / "monitoring")).to_pandas()
    language = figures[(figures["metric"] == "language") & (figures["reference"] == "previous")]
    assert language["breached"].tolist() == [True]


def test_alerts_command_lists_them(
    monitor_run: dict, lake: tuple[Path, pd.DataFrame], monitor_env: dict[str, str]
) -> None:
    project, _ = lake
    lines = cli(
        ["monitor", "alerts", "--json", "--limit", "100"], project, monitor_env
    ).splitlines()
    kinds = {json.loads(line)["kind"] for line in lines if line.strip()}
    assert {"drift", "complaints", "outage"} <= kinds


def test_the_burst_raises_the_open_ticket_in_its_scope(
    monitor_run: dict, open_tickets: Settings
) -> None:
    # the run's escalations, as published (the test above finds them on the topic)
    escalations = monitor_run["alerts"]
    telco = {m["alert_id"] for m in escalations if m["brand"] in ("TelcoNetHelp", None)}
    assert monitor_run["published"] == len(escalations) + 1  # and the drift breach
    assert monitor_run["incidents"] == len(escalations) >= 2
    assert monitor_run["tickets_raised"] == 1
    store = TicketStore(open_tickets.tickets_db_url)
    try:
        raised = store.get_ticket(ticket_id_for("c-telco"))
        assert raised.priority == "high"  # normal, one level up (routing.yaml)
        assert raised.incident_alert_id in telco  # an alert on the topic says why
        other = store.get_ticket(ticket_id_for("c-amazon"))
        assert (other.priority, other.incident_alert_id) == ("normal", None)
        [entry] = audit.trail(store.engine, raised.ticket_id)
        assert (entry.actor, entry.action) == ("monitor", "raise")
        assert raised.incident_alert_id in entry.detail
        # the stream: a new ticket in the incident's scope opens raised
        routing = load_routing(open_tickets.routing_config)
        late = customer("t-3", "c-late", 12, text="@TelcoNetHelp still no signal here")
        outcome = store.apply([late], routing, load_replies(open_tickets.replies_config))
        assert (outcome.opened, outcome.raised) == (1, 1)
        assert store.get_ticket(ticket_id_for("c-late")).incident_alert_id in telco
    finally:
        store.close()
