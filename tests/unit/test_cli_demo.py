"""`tweetcare demo` keeps its runtime state in its own folder and clears nothing else, and stops
with what to run when the model server cannot answer /analyze."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from serving.config import AnalysisSettings
from tweetcare.cli import demo
from tweetcare.cli.demo import demo_settings, reset_demo_state
from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings


def test_the_demo_state_lives_in_its_own_folder(tmp_path: Path) -> None:
    folder = tmp_path / ".tweetcare" / "demo"
    settings = demo_settings(Settings(), folder)
    assert settings.state_dir == folder
    assert settings.lake_dir == folder / "lake"
    assert settings.tickets_db_url == f"sqlite:///{folder / 'tickets.db'}"
    assert settings.checkpoint_dir.is_relative_to(folder)
    # the other settings are the caller's
    assert settings.kafka_bootstrap == Settings().kafka_bootstrap


def test_a_fresh_demo_clears_only_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    mine = [Path("lake/tweets/part.parquet"), Path("tickets.db"), Path(".tweetcare/kafka/meta")]
    theirs = [Path(".tweetcare/demo/lake/x.parquet"), Path(".tweetcare/demo/tickets.db")]
    for path in mine + theirs:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("state")

    reset_demo_state(demo_settings(Settings(), Path(".tweetcare/demo")))

    assert all(path.exists() for path in mine)
    assert not Path(".tweetcare/demo").exists()


def test_retraining_reruns_register_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """register owns the MLflow store: a stage writing to it afterwards would leave
    `dvc status` reporting the store as modified right after the demo."""
    monkeypatch.chdir(tmp_path)
    ran: list[list[str]] = []

    def record(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        ran.append(command)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(demo.subprocess, "run", record)
    demo.run_pipeline(Settings(), Path("mlflow.db"), retrain=True)
    assert ran[0] == ["dvc", "repro"]
    assert ran[1][:4] == ["dvc", "repro", "--force", "--single-item"]
    assert ran[1][-1] == "register" and {"train", "train_analysis"} <= set(ran[1])


SERVER = "http://127.0.0.1:5000"


def pipeline_tracking(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, registry_file: str
) -> tuple[str | None, str | None]:
    """The tracking URIs (ours, MLflow's) `dvc repro`'s stages get from the demo."""
    envs: list[dict[str, str]] = []

    def record(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        env = kwargs["env"]
        assert isinstance(env, dict)
        envs.append(env)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(demo.subprocess, "run", record)
    demo.run_pipeline(settings, Path(registry_file))
    [env] = envs
    return env.get("TWEETCARE_MLFLOW_TRACKING_URI"), env.get("MLFLOW_TRACKING_URI")


def test_on_a_tracking_server_the_pipeline_still_runs_into_its_own_store(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`make demo-cluster` from a fresh clone: `tweetcare cluster env` points MLflow at the
    cluster's server, but params.yaml's register.registry_file is the local store DVC follows;
    the stages (register among them) must log there, or register refuses the mismatch."""
    for name in ("TWEETCARE_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI"):
        monkeypatch.setenv(name, SERVER)
    server = Settings(mlflow_tracking_uri=SERVER)
    assert pipeline_tracking(monkeypatch, server, "mlflow.db") == ("sqlite:///mlflow.db",) * 2


def test_a_receipt_as_registry_file_lets_the_pipeline_track_to_the_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWEETCARE_MLFLOW_TRACKING_URI", SERVER)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    server = Settings(mlflow_tracking_uri=SERVER)
    receipt = "artifacts/registry.json"
    assert pipeline_tracking(monkeypatch, server, receipt) == (SERVER, None)


def test_the_local_default_leaves_the_pipeline_environment_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("TWEETCARE_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    assert pipeline_tracking(monkeypatch, Settings(), "mlflow.db") == (None, None)


def test_a_tracking_server_gets_the_cached_champions_without_touching_the_repo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a new cluster's MLflow server the demo registers the pipeline's DVC-cached champions
    (the register stage's code), with its receipt and metrics in the demo's own folder."""
    ran: list[tuple[list[str], dict[str, str]]] = []

    def record(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        env = kwargs["env"]
        assert isinstance(env, dict)
        ran.append((command, env))
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(demo.subprocess, "run", record)
    folder = tmp_path / "demo"
    demo.publish_champions(demo_settings(Settings(), folder))  # the local store: nothing to do
    assert ran == []

    server = Settings(mlflow_tracking_uri="http://127.0.0.1:5000")
    demo.publish_champions(demo_settings(server, folder))
    (command, env), *_ = ran
    assert command[1:3] == ["-m", "pipelines.register"]
    outputs = [Path(command[i + 1]) for i, arg in enumerate(command) if arg.startswith("--")]
    assert outputs and all(path.parent == folder for path in outputs)
    assert env["TWEETCARE_MLFLOW_TRACKING_URI"] == "http://127.0.0.1:5000"


def test_retraining_into_a_tracking_server_is_refused_with_the_way_out() -> None:
    server = Settings(mlflow_tracking_uri="http://127.0.0.1:5000")
    with pytest.raises(UserError, match=r"register\.registry_file"):
        demo.run_pipeline(server, Path("mlflow.db"), retrain=True)


class ModelInfoStandIn:
    """A real HTTP server in a thread that answers POST /model_info with a fixed object."""

    def __init__(self, info: dict[str, Any]) -> None:
        body = json.dumps(info).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                found = self.path == "/model_info"
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body if found else b"{}")

            def log_message(self, *_args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def settings(self, tmp_path: Path) -> Settings:
        return demo_settings(Settings(bento_port=self.http.server_address[1]), tmp_path)

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def model_server() -> Iterator[Callable[[dict[str, Any]], ModelInfoStandIn]]:
    started: list[ModelInfoStandIn] = []

    def start(info: dict[str, Any]) -> ModelInfoStandIn:
        started.append(ModelInfoStandIn(info))
        return started[-1]

    yield start
    for stand_in in started:
        stand_in.stop()


INBOUND = {"name": "tweet-inbound", "version": "1", "run_id": "r", "alias": "champion"}


def test_a_server_without_analysis_models_stops_the_demo_saying_what_to_run(
    tmp_path: Path, model_server: Callable[[dict[str, Any]], ModelInfoStandIn]
) -> None:
    """/analyze would answer 503, which the stream waits out as an outage: the demo would hang."""
    why = "no model registered as tweet-sentiment@champion in sqlite:///x.db: run dvc repro"
    info = {**INBOUND, "models": {"tweet-inbound": INBOUND}, "analyze_unavailable": why}
    settings = model_server(info).settings(tmp_path)
    with pytest.raises(UserError) as raised:
        demo.ensure_analysis_served(settings)
    message = str(raised.value)
    assert "cannot answer /analyze" in message and why in message
    for name in AnalysisSettings().model_names.values():  # every one not served is named
        assert name in message
    assert "dvc repro --force --single-item train_analysis register" in message


def test_a_server_with_its_analysis_models_lets_the_demo_go_on(
    tmp_path: Path, model_server: Callable[[dict[str, Any]], ModelInfoStandIn]
) -> None:
    names = AnalysisSettings().model_names.values()
    served = {name: {**INBOUND, "name": name} for name in ["tweet-inbound", *names]}
    settings = model_server({**INBOUND, "models": served}).settings(tmp_path)
    demo.ensure_analysis_served(settings)  # no analyze_unavailable: nothing raised


def test_a_server_that_does_not_answer_model_info_stops_the_demo(
    tmp_path: Path, model_server: Callable[[dict[str, Any]], ModelInfoStandIn]
) -> None:
    stand_in = model_server(INBOUND)
    settings = stand_in.settings(tmp_path)
    stand_in.stop()
    with pytest.raises(UserError, match="does not answer /model_info"):
        demo.ensure_analysis_served(settings)
