"""`mlflow run . -e main` as a new user runs it: in a fresh clone, with MLflow's default
environment manager for python_env.yaml (virtualenv: pyenv's Python, then pip installs the
project and requirements.lock), on a small sample (`-P params=`).

The environment goes to a private MLFLOW_ENV_ROOT, so none that points at the deleted clone
stays behind. Building it from the lock takes minutes and several GB: the `envbuild` suite
(`make test-envbuild`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

from tests.fixtures.clone import ROOT, fresh_clone
from tests.fixtures.project import tiny_params

pytestmark = [pytest.mark.integration, pytest.mark.envbuild, pytest.mark.timeout(3600)]

BIN = Path(sys.executable).parent
SAMPLE_ROWS = 3000
INBOUND = "tweet-inbound"
# installed unpinned with the project first, then pinned by the lock
PROJECT_DEPENDENCIES = ("pandas", "numpy", "pyarrow", "deltalake")


def locked_version(name: str) -> str:
    match = re.search(rf"^{name}==(\S+)", (ROOT / "requirements.lock").read_text(), re.MULTILINE)
    assert match, f"{name} is not in requirements.lock"
    return match.group(1)


def user_env(tmp: Path) -> dict[str, str]:
    """A new user's environment (no MLflow or tweetcare settings of this session) with the
    `mlflow` CLI on PATH, a private environment root and a tracking store of its own."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("MLFLOW_", "TWEETCARE_")) and name != "PYTHONPATH"
    }
    return {
        **inherited,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "MLFLOW_ENV_ROOT": str(tmp / "envs"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'mlflow.db'}",
    }


def test_mlflow_run_main_builds_the_locked_environment_and_registers_a_model(
    tmp_path: Path,
) -> None:
    clone = fresh_clone(tmp_path)
    params = tiny_params()
    params["generate"]["rows"] = SAMPLE_ROWS
    small = tmp_path / "params.yaml"
    small.write_text(yaml.safe_dump(params, sort_keys=False))
    env = user_env(tmp_path)

    result = subprocess.run(
        [str(BIN / "mlflow"), "run", ".", "-e", "main", "-P", f"params={small}"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    experiments = [e.experiment_id for e in client.search_experiments()]
    (project_run,) = client.search_runs(experiments, "tags.`mlflow.project.entryPoint` = 'main'")
    assert project_run.info.status == "FINISHED"
    assert project_run.data.tags["mlflow.project.env"] == "virtualenv"
    # the comparison logged into the run `mlflow run` made: one child run per model
    children = client.search_runs(
        experiments, f"tags.`mlflow.parentRunId` = '{project_run.info.run_id}'"
    )
    assert {child.data.tags.get("mlflow.runName") for child in children} >= {"baseline"}
    (version,) = client.search_model_versions(f"name = '{INBOUND}'")
    assert version.run_id in {child.info.run_id for child in children}

    # the environment MLflow built: pyenv's Python, the project, and the lock's pins
    (env_dir,) = (tmp_path / "envs").iterdir()
    python = env_dir / "bin" / "python"
    probe = "import importlib.metadata as m, sys; print(sys.version.split()[0]); " + "; ".join(
        f"print(m.version({name!r}))" for name in ("tweetcare", *PROJECT_DEPENDENCIES)
    )
    versions = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    wanted = yaml.safe_load((ROOT / "python_env.yaml").read_text())["python"]
    assert versions[:2] == [wanted, "0.1.0"]
    assert versions[2:] == [locked_version(name) for name in PROJECT_DEPENDENCIES]
