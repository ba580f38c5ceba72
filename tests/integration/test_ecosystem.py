"""The ecosystem's own tools on the project: `mlflow run`, DVC metrics and plots, `bentoml build`.

Each runs the real tool as a user would, against the repository's own MLproject, dvc.yaml,
.gitignore and bentofile.yaml, in temporary folders (an `mlflow server` on a free loopback
port, a throwaway git + DVC repo, a private BENTOML_HOME).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.fixtures.bento import synthetic_features
from tests.fixtures.kafka import free_ports
from tests.fixtures.serving_lock import SERVING_LOCK, pins
from tests.fixtures.twcs import twcs_frame, write_twcs
from training.baseline import train_baseline
from training.pyfunc import save_sklearn_pyfunc
from tweetcare.core.params import BaselineParams

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SERVER_START_S = 600.0  # a loaded machine imports MLflow slowly


def tool_env(**extra: str) -> dict[str, str]:
    """The venv's tools first on PATH and this checkout first on PYTHONPATH; no MLflow or
    tweetcare variable left in the environment by an earlier test decides where runs go."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("MLFLOW_", "TWEETCARE_"))
    }
    return {
        **inherited,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
        **extra,
    }


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        args, cwd=cwd, env=env or tool_env(), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )
    return result.stdout


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `mlflow server` (sqlite store, proxied artifacts) on a free loopback port."""
    home = tmp_path_factory.mktemp("mlflow-server")
    (port,) = free_ports(1)
    url = f"http://127.0.0.1:{port}"
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        [
            str(BIN / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{home / 'mlflow.db'}",
            "--artifacts-destination",
            str(home / "artifacts"),
        ],
        cwd=home,
        env=tool_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"mlflow server did not start (exit {server.poll()}):\n{(home / 'server.log').read_text()}"
                )
            time.sleep(1.0)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def test_mlflow_run_logs_into_the_tracking_server_it_is_given(
    mlflow_server: str, tmp_path: Path
) -> None:
    """`mlflow run . -e evaluate` with MLFLOW_TRACKING_URI=<server>: the entry point's metrics
    land in the run `mlflow run` created on that server (not in a local mlflow.db)."""
    import mlflow

    model = tmp_path / "baseline"
    fitted = train_baseline(
        synthetic_features(200), BaselineParams(C=4.0, max_features=5000, ngram_max=2, min_df=1)
    )
    save_sklearn_pyfunc(fitted, mask_handles=True, path=model)
    data = write_twcs(twcs_frame(30), tmp_path / "twcs.csv")
    env = tool_env(MLFLOW_TRACKING_URI=mlflow_server)

    out = run(
        [
            str(BIN / "mlflow"),
            "run",
            str(ROOT),
            "-e",
            "evaluate",
            "-P",
            f"model_uri={model}",
            "-P",
            f"data={data}",
            "--env-manager",
            "local",
            "--experiment-name",
            "ecosystem",
        ],
        cwd=tmp_path,
        env=env,
    )

    [printed] = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    client = mlflow.MlflowClient(tracking_uri=mlflow_server)
    [run_info] = client.search_runs([client.get_experiment_by_name("ecosystem").experiment_id])
    assert run_info.info.status == "FINISHED"
    assert run_info.data.params["model_uri"] == str(model)
    assert run_info.data.metrics["accuracy"] == pytest.approx(printed["accuracy"])
    assert not (tmp_path / "mlflow.db").exists() and not (ROOT / "mlruns" / "ecosystem").exists()


METRICS = {
    "metrics/train.json": {"val_f1": 0.81},
    "metrics/evaluate.json": {"f1": 0.80, "accuracy": 0.85},
    "metrics/register.json": {"version": "1", "promoted": True},
    "metrics/analysis.json": {"sentiment": {"macro_f1": 0.7}},
    "reports/validation/raw.json": {"success": True, "rows": 100},
}
PLOTS = {
    "plots/compare.csv": "model,val_f1\nbaseline,0.81\ngru,0.78\n",
    "plots/evaluate/roc.csv": "fpr,tpr\n0.0,0.0\n0.2,0.8\n1.0,1.0\n",
    "plots/evaluate/confusion.csv": "actual,predicted\ninbound,inbound\noutbound,inbound\n",
}


def write_outputs(project: Path, scale: float) -> None:
    """The pipeline's metrics and plot files as its stages write them (values scaled)."""
    for name, record in METRICS.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if "val_f1" in record:
            record = {"val_f1": record["val_f1"] * scale}
        path.write_text(json.dumps(record))
    for name, text in PLOTS.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("0.81", f"{0.81 * scale:.2f}"))


def test_dvc_sees_metrics_and_plots_across_git_revisions(tmp_path: Path) -> None:
    """The repository's .gitignore lets Git keep every file dvc.yaml declares as metrics or
    plots, so DVC can compare them between commits and show them per experiment."""
    project = tmp_path / "project"
    project.mkdir()
    # data.dvc too: dvc.yaml reads the data version it records (vars)
    for name in ("dvc.yaml", "data.dvc", "params.yaml", ".gitignore"):
        shutil.copy(ROOT / name, project / name)
    run(["git", "init", "-q"], project)
    run(["git", "config", "user.email", "t@example.com"], project)
    run(["git", "config", "user.name", "t"], project)
    run(["dvc", "init", "-q"], project)
    run(["dvc", "config", "core.analytics", "false"], project)

    write_outputs(project, 1.0)
    (project / "reports/validation/data_docs").mkdir(parents=True)
    (project / "reports/validation/data_docs/index.html").write_text("<html></html>")
    run(["git", "add", "-A"], project)
    staged = set(run(["git", "diff", "--cached", "--name-only"], project).split())
    declared = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
    tracked = {
        next(iter(entry)) if isinstance(entry, dict) else entry
        for stage in declared.values()
        for kind in ("metrics", "plots")
        for entry in stage.get(kind, [])
    }
    assert tracked == set(METRICS) | set(PLOTS)
    assert tracked <= staged  # every declared metrics/plots file is committed
    assert "reports/validation/data_docs/index.html" not in staged  # HTML stays out of Git
    run(["git", "commit", "-q", "-m", "first"], project)
    write_outputs(project, 1.1)
    run(["git", "commit", "-q", "-am", "better"], project)

    diff = json.loads(run(["dvc", "metrics", "diff", "HEAD~1", "HEAD", "--json"], project))
    change = diff["metrics/train.json"]["val_f1"]
    assert change["old"] == pytest.approx(0.81) and change["new"] == pytest.approx(0.891)
    plots = json.loads(run(["dvc", "plots", "diff", "HEAD~1", "HEAD", "--json"], project))
    shown = json.dumps(plots)
    for name in PLOTS:
        assert name in shown
    experiments = json.loads(run(["dvc", "exp", "show", "--json"], project))
    assert "0.891" in json.dumps(experiments) or "0.8910" in json.dumps(experiments)


def test_bentoml_build_packages_the_model_server(tmp_path: Path) -> None:
    """`bentoml build` from bentofile.yaml: a Bento whose service is the model server."""
    env = tool_env(BENTOML_HOME=str(tmp_path / "bentoml"), BENTOML_DO_NOT_TRACK="true")
    tag = run([str(BIN / "bentoml"), "build", "-o", "tag"], ROOT, env).strip().split("__tag__:")[-1]
    assert tag.startswith("tweetcare:")
    info = json.loads(run([str(BIN / "bentoml"), "get", tag, "-o", "json"], ROOT, env))
    assert info["service"] == "serving.service:TweetClassifier"
    assert info["entry_service"] == "TweetClassifier"
    source = tmp_path / "bentoml" / "bentos" / "tweetcare" / tag.split(":")[1] / "src"
    assert (source / "serving" / "service.py").is_file()
    assert (source / "config" / "routing.yaml").is_file()
    assert (source / "tweetcare" / "core" / "settings.py").is_file()
    requirements = source.parent / "env" / "python" / "requirements.txt"
    text = requirements.read_text()
    assert "bentoml==1.4.39" in text and "--hash=sha256:" in text
    # the model server's own lock, not the all-extras one: nothing it does not run
    installed = pins(requirements)
    assert installed == pins(SERVING_LOCK)
    assert not {"torch", "pyspark", "streamlit", "playwright", "pytest", "dvc"} & set(installed)
