"""The CLI's shared conventions: exit codes, --json, flag help, --state-dir, service verbs, and
the everyday registry and schema verbs (`models list|rollback`, `db migrate`).

Commands run through `tweetcare.cli.main()`, the console script's own entry point, because the
exit codes are decided there and never show through typer's CliRunner.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from mlflow.tracking import MlflowClient

from tests.fixtures.kafka import free_ports
from tweetcare import cli
from tweetcare.cli import demo as demo_cli
from tweetcare.cli.exit_codes import FAILURE, SUCCESS, USAGE
from tweetcare.core.contract import CHAMPION, DECISION_TAG, REASON_TAG
from tweetcare.core.settings import get_settings
from tweetcare.kafka.replay import ReplayReport

MOVED_BY_STATE_DIR = ("TWEETCARE_STATE_DIR", "TWEETCARE_LAKE_DIR", "TWEETCARE_TICKETS_DB_URL")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command's state in tmp_path, nothing listening on its ports; the variables
    --state-dir sets are restored after each test."""
    kafka_port, bento_port = free_ports(2)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("TWEETCARE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("TWEETCARE_TICKETS_DB_URL", f"sqlite:///{tmp_path / 'tickets.db'}")
    monkeypatch.setenv("TWEETCARE_KAFKA_PORT", str(kafka_port))
    monkeypatch.setenv("TWEETCARE_BENTO_PORT", str(bento_port))
    monkeypatch.delenv("TWEETCARE_LAKE_DIR", raising=False)
    monkeypatch.delenv("TWEETCARE_KAFKA_BOOTSTRAP_SERVERS", raising=False)


def run(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["tweetcare", *args])
    return cli.main()


# --- exit codes ---------------------------------------------------------------------------


def test_a_usage_error_exits_2_and_a_missing_ticket_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(monkeypatch, "tickets", "list", "--limit", "abc") == USAGE
    assert "Invalid value for '--limit'" in capsys.readouterr().err
    assert run(monkeypatch, "db", "migrate") == SUCCESS  # an empty store, not a missing one
    capsys.readouterr()
    assert run(monkeypatch, "tickets", "show", "99999") == FAILURE
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: no ticket 99999")


def test_a_bad_input_file_exits_2_and_a_service_down_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(monkeypatch, "replay", "--input", "missing.csv") == USAGE
    assert capsys.readouterr().err.splitlines() == ["error: no CSV at missing.csv"]
    assert run(monkeypatch, "analyze", "a late parcel") == FAILURE  # no model server there
    assert "no model server at" in capsys.readouterr().err


# --- --json -------------------------------------------------------------------------------


def test_replay_json_is_one_object_and_failures_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    reports = iter(
        [
            ReplayReport(sent=3, failed=0, topic="tweets", seconds=0.5),
            ReplayReport(sent=2, failed=1, topic="tweets", seconds=0.5, first_error="timeout"),
        ]
    )
    monkeypatch.setattr(cli.import_module("tweetcare.cli.replay").replay_producer, "replay",
                        lambda *_, **__: next(reports))  # fmt: skip
    assert run(monkeypatch, "replay", "--input", "any.csv", "--json") == SUCCESS
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line) == {
        "sent": 3, "failed": 0, "topic": "tweets", "seconds": 0.5, "first_error": None,
    }  # fmt: skip
    assert run(monkeypatch, "replay", "--input", "any.csv", "--json") == FAILURE
    assert json.loads(capsys.readouterr().out)["first_error"] == "timeout"


def test_demo_json_keeps_stdout_for_the_outcome(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    def run_demo(*_: object) -> dict[str, object]:
        print("replaying 10 tweets")  # progress, as the demo prints it
        demo_cli.console.print("starting Kafka ...")
        return {"summary": {"replayed": 10}, "state_dir": ".tweetcare/demo"}

    monkeypatch.setattr(demo_cli, "run_demo", run_demo)
    assert run(monkeypatch, "demo", "--json") == SUCCESS
    out, err = capfd.readouterr()
    assert json.loads(out) == {"summary": {"replayed": 10}, "state_dir": ".tweetcare/demo"}
    assert "replaying 10 tweets" in err and "starting Kafka" in err


def test_listings_print_json_lines(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("TWEETCARE_CONSOLE_USERS_FILE", str(tmp_path / "users.yaml"))
    for name in ("alice", "bob"):
        monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
        assert run(monkeypatch, "users", "add", name, "--password-stdin") == SUCCESS
    capsys.readouterr()
    assert run(monkeypatch, "users", "list", "--json") == SUCCESS
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["username"] for line in lines] == ["alice", "bob"]


# --- help ---------------------------------------------------------------------------------


def _paths(command: object, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    commands = getattr(command, "commands", {})
    for name in sorted(commands):
        child = cli.load_verb(name) if not prefix else commands[name]
        yield from _paths(child, (*prefix, name))


def test_no_help_shows_a_bool_placeholder(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = typer.main.get_command(cli.app)
    paths = list(_paths(root))
    assert ("cluster", "start") in paths and ("models", "rollback") in paths
    for path in paths:
        assert run(monkeypatch, *path, "--help") == SUCCESS, path
        shown = capsys.readouterr().out
        assert "Usage:" in shown
        assert "<bool>" not in shown, path
    assert run(monkeypatch, "demo", "--help") == SUCCESS
    assert "--fresh" in capsys.readouterr().out  # the flags are still listed


def test_the_root_help_documents_the_exit_codes_and_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(monkeypatch, "--help") == SUCCESS
    shown = " ".join(capsys.readouterr().out.split())
    assert "Exit codes: 0 done; 1 a runtime failure" in shown
    assert "JSON lines, one object per record" in shown


# --- --state-dir --------------------------------------------------------------------------


def test_state_dir_points_every_setting_at_the_folder(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name in MOVED_BY_STATE_DIR:
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "demo"
    assert run(monkeypatch, "--state-dir", str(folder), "db", "migrate") == SUCCESS
    assert (folder / "tickets.db").is_file()  # the command used the folder's store
    settings = get_settings()
    assert settings.state_dir == folder
    assert settings.lake_dir == folder / "lake"
    assert settings.tickets_db_url == f"sqlite:///{folder / 'tickets.db'}"
    capsys.readouterr()
    assert run(monkeypatch, "--state-dir", str(folder), "tickets", "list", "--json") == SUCCESS


def test_state_dir_keeps_a_ticket_store_configured_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    elsewhere = "postgresql+psycopg://care@db.example/tickets"
    monkeypatch.setenv("TWEETCARE_TICKETS_DB_URL", elsewhere)
    monkeypatch.delenv("TWEETCARE_STATE_DIR")
    at = ("--state-dir", str(tmp_path / "demo"))
    assert run(monkeypatch, *at, "cluster", "status", "--json") == FAILURE  # nothing runs
    assert get_settings().tickets_db_url == elsewhere
    assert get_settings().state_dir == tmp_path / "demo"


# --- service verbs ------------------------------------------------------------------------


def test_cluster_start_stop_and_the_old_names(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster_cli = cli.import_module("tweetcare.cli.cluster")
    started: list[bool] = []
    monkeypatch.setattr(cluster_cli, "start", lambda fresh=False: started.append(fresh))
    assert run(monkeypatch, "cluster", "up", "--fresh") == SUCCESS
    assert started == [True]
    assert capsys.readouterr().err.splitlines() == [
        "note: `tweetcare cluster up` is now `tweetcare cluster start`"
    ]
    assert run(monkeypatch, "cluster", "stop") == SUCCESS  # nothing runs in tmp_path
    assert "nothing was running" in capsys.readouterr().out
    assert run(monkeypatch, "cluster", "down") == SUCCESS
    out, err = capsys.readouterr()
    assert "nothing was running" in out
    assert err.splitlines() == ["note: `tweetcare cluster down` is now `tweetcare cluster stop`"]
    assert run(monkeypatch, "cluster", "--help") == SUCCESS
    listed = capsys.readouterr().out
    assert " start " in listed and " stop " in listed
    assert " up " not in listed and " down " not in listed


def test_ui_start_checks_its_port_before_starting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(monkeypatch, "ui", "start", "--port", "0") == USAGE
    assert "--port must be between 1 and 65535" in capsys.readouterr().err
    assert run(monkeypatch, "ui", "start", "--help") == SUCCESS
    assert "foreground" in capsys.readouterr().out


# --- models list / rollback ---------------------------------------------------------------


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    """A throw-away MLflow store with tweet-inbound versions 1 and 2, @champion on 2."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("TWEETCARE_MLFLOW_TRACKING_URI", uri)
    client = MlflowClient(uri, registry_uri=uri)
    client.create_registered_model("tweet-inbound")
    for _ in range(2):
        client.create_model_version("tweet-inbound", source=(tmp_path / "model").as_uri())
    client.set_registered_model_alias("tweet-inbound", CHAMPION, "2")
    client.set_registered_model_alias("tweet-inbound", "challenger", "1")
    return client


def test_models_list_shows_versions_and_aliases(
    registry: MlflowClient, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(monkeypatch, "models", "list", "--json") == SUCCESS
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["model"], r["version"], r["aliases"]) for r in rows] == [
        ("tweet-inbound", "2", [CHAMPION]),
        ("tweet-inbound", "1", ["challenger"]),
    ]
    assert run(monkeypatch, "models", "list") == SUCCESS
    assert "@champion" in capsys.readouterr().out
    assert run(monkeypatch, "models", "list", "no-such-model") == FAILURE
    assert "no registered model 'no-such-model'" in capsys.readouterr().err


def test_models_rollback_moves_the_champion_back_and_says_who(
    registry: MlflowClient, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(monkeypatch, "models", "rollback", "tweet-inbound", "--user", "dana") == SUCCESS
    assert capsys.readouterr().out.startswith("tweet-inbound@champion: version 2 -> 1")
    assert str(registry.get_model_version_by_alias("tweet-inbound", CHAMPION).version) == "1"
    tags = registry.get_model_version("tweet-inbound", "1").tags
    assert tags[DECISION_TAG] == CHAMPION
    assert tags[REASON_TAG] == "rolled back from version 2 by dana"
    assert run(monkeypatch, "models", "rollback", "tweet-inbound", "--user", "dana") == FAILURE
    assert "nothing before it" in capsys.readouterr().err
    assert str(registry.get_model_version_by_alias("tweet-inbound", CHAMPION).version) == "1"
