"""Secrets never reach agents or logs: URLs shown by the console, `stream status` and error
messages have their passwords masked, and the Spark job's secret conf stays off the command line
that the supervisor logs and saves."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from tests.fixtures.kafka import free_ports
from tests.unit.test_supervisor import JOB
from tweetcare.backoff import Backoff, retry
from tweetcare.cli import _error
from tweetcare.cli.stream import (
    app,
    progress_file,
    spark_submit_command,
    start_stream,
    stop_stream,
    supervisor_file,
)
from tweetcare.core.redact import MASK, redact, redact_command, redact_url
from tweetcare.core.settings import Settings
from tweetcare.process import Service
from tweetcare.supervisor import read_state
from tweetcare.ui.config import APP_PATH
from tweetcare.ui.users import add_user

DB_PASSWORD = "pg-hunter2"
MLFLOW_PASSWORD = "mlflow-hunter2"
S3_SECRET = "s3-hunter2"
SECRETS = (DB_PASSWORD, MLFLOW_PASSWORD, S3_SECRET)


def postgres_url(port: int) -> str:
    """A ticket store nobody listens for, with a password."""
    return f"postgresql+psycopg://care:{DB_PASSWORD}@127.0.0.1:{port}/tickets"


def assert_no_secret(shown: str) -> None:
    for secret in SECRETS:
        assert secret not in shown


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+psycopg://care:s3cr%40t@db:5432/tickets?sslmode=require",
            "postgresql+psycopg://care:***@db:5432/tickets?sslmode=require",
        ),
        ("http://care:pw@127.0.0.1:5000", "http://care:***@127.0.0.1:5000"),
        (
            "https://mlflow.example/api?token=abc&run=1",
            "https://mlflow.example/api?token=***&run=1",
        ),
        ("postgresql://db/tickets?password=pw", "postgresql://db/tickets?password=***"),
        ("sqlite:///tickets.db", "sqlite:///tickets.db"),
        ("s3a://tweetcare-lake/lake", "s3a://tweetcare-lake/lake"),
    ],
)
def test_a_url_is_shown_without_its_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_free_text_and_command_lines_are_masked() -> None:
    error = (
        f"cannot reach postgresql://care:{DB_PASSWORD}@db/tickets; "
        f'PlainLoginModule required username="care" password="{S3_SECRET}";'
    )
    assert redact(error) == (
        'cannot reach postgresql://care:***@db/tickets; PlainLoginModule required username="care" '
        "password=***;"
    )
    command = ["job", "--conf", f"spark.hadoop.fs.s3a.secret.key={S3_SECRET}"]
    command += ["--db-password", DB_PASSWORD, "--conf", "spark.cores.max=2"]
    assert redact_command(command) == [
        "job",
        "--conf",
        f"spark.hadoop.fs.s3a.secret.key={MASK}",
        "--db-password",
        MASK,
        "--conf",
        "spark.cores.max=2",
    ]


def test_secret_spark_conf_stays_off_the_spark_submit_command_line(tmp_path: Path) -> None:
    (tmp_path / "spark").mkdir()
    (tmp_path / "spark" / "a.jar").touch()
    conf = {
        "spark.cores.max": "2",
        "spark.hadoop.fs.s3a.access.key": "tweetcare",
        "spark.hadoop.fs.s3a.secret.key": S3_SECRET,
    }
    settings = Settings(jars_dir=tmp_path, spark_conf=conf, aws_secret_access_key=S3_SECRET)
    command = spark_submit_command(settings)
    assert_no_secret(" ".join(command))
    assert "spark.cores.max=2" in command
    # the job gets it from its environment, where its session builder applies it
    assert json.loads(settings.to_env()["TWEETCARE_SPARK_CONF"]) == conf


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    store_port, kafka_port = free_ports(2)  # nothing listens on either
    settings = Settings(
        state_dir=tmp_path / "state",
        kafka_port=kafka_port,
        tickets_db_url=postgres_url(store_port),
        mlflow_tracking_uri=f"http://care:{MLFLOW_PASSWORD}@127.0.0.1:{store_port}",
    )
    for name, value in settings.to_env().items():
        monkeypatch.setenv(name, value)
    settings.state_dir.mkdir(parents=True)
    yield settings
    stop_stream(settings)


def test_the_supervisor_logs_and_saves_the_command_line_without_secrets(
    settings: Settings, tmp_path: Path
) -> None:
    script = tmp_path / "job.py"
    script.write_text(JOB)
    secret_conf = f"spark.hadoop.fs.s3a.secret.key={S3_SECRET}"
    job = [sys.executable, str(script), str(settings.state_dir), "", "--conf", secret_conf]
    start_stream(settings, job)
    saved = read_state(supervisor_file(settings))["command"]
    log = Service("stream", settings.state_dir).log_tail(100)
    assert f"spark.hadoop.fs.s3a.secret.key={MASK}" in saved
    assert f"spark.hadoop.fs.s3a.secret.key={MASK}" in log and "started the job" in log
    assert_no_secret(json.dumps(saved) + log)


def test_stream_status_shows_urls_and_errors_with_passwords_masked(settings: Settings) -> None:
    progress_file(settings).write_text(
        json.dumps({"last_error": f"lost {settings.tickets_db_url} mid-batch"})
    )
    runner = CliRunner()
    text = runner.invoke(app, ["status"])
    as_json = runner.invoke(app, ["status", "--json"])
    assert (text.exit_code, as_json.exit_code) == (1, 1), text.output  # down, not a traceback
    assert "care:***@127.0.0.1" in text.output and "tickets store" in text.output
    assert json.loads(as_json.output)["last_error"].startswith(
        "lost postgresql+psycopg://care:***@"
    )
    assert_no_secret(text.output + as_json.output)


def test_the_console_sidebar_shows_urls_without_passwords(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = tmp_path / "users.yaml"
    add_user(users, "alice", "a long password")
    monkeypatch.setenv("TWEETCARE_CONSOLE_USERS_FILE", str(users))
    monkeypatch.setenv("TWEETCARE_BENTO_PORT", str(free_ports(1)[0]))
    monkeypatch.setenv("TWEETCARE_LAKE_DIR", str(tmp_path / "lake"))
    console = AppTest.from_file(str(APP_PATH), default_timeout=60)
    console.session_state["authentication_status"] = True  # signed in
    console.session_state["username"] = "alice"
    console.run()
    assert not console.exception
    shown = [m.value for m in console.sidebar.markdown] + [c.value for c in console.caption]
    shown += [e.value for e in console.error] + [m.value for m in console.markdown]
    sidebar = " ".join(str(value) for value in shown)
    assert "care:***@127.0.0.1" in sidebar and "ticket store" in sidebar and "MLflow" in sidebar
    assert_no_secret(sidebar)


def test_a_cli_error_line_masks_the_urls_it_quotes(capsys: pytest.CaptureFixture[str]) -> None:
    _error(f"no ticket T-1 in {postgres_url(5432)}")
    assert capsys.readouterr().err == "error: no ticket T-1 in " + (
        "postgresql+psycopg://care:***@127.0.0.1:5432/tickets\n"
    )


def test_the_settings_repr_masks_every_secret_they_hold() -> None:
    settings = Settings(
        tickets_db_url=postgres_url(5432),
        mlflow_tracking_uri=f"http://care:{MLFLOW_PASSWORD}@mlflow:5000",
        spark_conf={"spark.hadoop.fs.s3a.secret.key": S3_SECRET, "spark.cores.max": "2"},
        aws_secret_access_key=S3_SECRET,
    )
    shown = repr(settings) + str(settings)
    assert_no_secret(shown)
    assert "care:***@mlflow:5000" in shown and "'spark.cores.max': '2'" in shown
    # what the child processes are given is the real thing
    assert settings.to_env()["TWEETCARE_TICKETS_DB_URL"] == postgres_url(5432)


def test_an_outage_is_logged_without_the_password_its_error_quotes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def connect() -> None:
        raise ConnectionError(f"cannot reach {postgres_url(5432)}")

    caplog.set_level(logging.INFO, logger="tweetcare")
    with pytest.raises(ConnectionError):
        retry(
            connect,
            lambda _err: True,
            Backoff(total_s=1.0, first_s=0.5),
            "ticket store",
            sleep=lambda _s: None,
        )
    assert "unavailable (attempt 1" in caplog.text and "giving up after 3 attempts" in caplog.text
    assert "care:***@127.0.0.1:5432" in caplog.text
    assert_no_secret(caplog.text)
