"""The MLflow registry as pipeline state: the real `dvc repro` of the whole pipeline in a
throwaway repo, then `mlflow.db` deleted, `dvc status` naming `register`, and `dvc repro`
putting every model back from the DVC-cached copies without retraining."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient

from tweetcare.data.generator import write_dataset

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
INBOUND = "tweet-inbound"
ANALYSIS = ("tweet-sentiment", "tweet-category", "tweet-entities")


def tiny_params() -> dict:
    """The repository's params.yaml shrunk to seconds per stage (one model in the comparison)."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["split"]["profiles"]["quick"] = {"train": 700, "val": 200, "test": 200}
    params["train"]["models"] = ["baseline"]
    params["train"]["raw_handles_models"] = []
    params["train"]["latency_repeats"] = 1
    params["register"].update(min_tweets_per_second=1.0, latency_batch=32)
    params["analysis"].update(train_sample=300, eval_sample=100, ner_train_sample=200, ner_epochs=1)
    return params


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "TWEETCARE_MLFLOW_TRACKING_URI": "sqlite:///mlflow.db",
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout[-4000:]}{done.stderr[-4000:]}"
    return done


def status(project: Path) -> dict:
    return json.loads(run(["dvc", "status", "--json"], project).stdout or "{}")


def make_project(tmp: Path) -> Path:
    shutil.copy(ROOT / "dvc.yaml", tmp / "dvc.yaml")
    (tmp / "params.yaml").write_text(yaml.safe_dump(tiny_params(), sort_keys=False))
    ignore = shutil.ignore_patterns("__pycache__")
    for package in ("pipelines", "training", "tweetcare", "config"):
        shutil.copytree(ROOT / package, tmp / package, ignore=ignore)
    write_dataset(tmp / "data", rows=3000, seed=7)
    for command in (
        ["git", "init", "-q"],
        ["dvc", "init", "-q"],
        ["dvc", "config", "core.analytics", "false"],
        ["dvc", "add", "-q", "data"],
    ):
        run(command, tmp)
    return tmp


def versions(client: MlflowClient, name: str) -> list[str]:
    return sorted(str(v.version) for v in client.search_model_versions(f"name = '{name}'"))


def test_a_deleted_registry_is_a_changed_register_stage_that_repro_restores(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path)
    run(["dvc", "repro"], project)
    assert status(project) == {}  # register ran last: nothing wrote to the store after it
    store = project / "mlflow.db"
    promotion = json.loads((project / "metrics/register.json").read_text())

    store.unlink()
    assert status(project) == {"register": [{"changed outs": {"mlflow.db": "deleted"}}]}, (
        "dvc status must name register, and only register"
    )

    again = run(["dvc", "repro"], project)
    assert "Running stage 'register'" in again.stdout
    assert "Running stage 'train'" not in again.stdout  # restored, not retrained
    assert status(project) == {}

    mlflow.set_tracking_uri(f"sqlite:///{store}")
    try:
        client = MlflowClient()
        champion = client.get_model_version_by_alias(INBOUND, "champion")
        run_tags = client.get_run(champion.run_id).data.tags
        assert run_tags["tweetcare.restored_from"].endswith("artifacts/train/model")
        # the restored champion scores the test split as the lost one did
        restored = json.loads((project / "metrics/register.json").read_text())
        assert restored["candidate_f1"] == pytest.approx(promotion["candidate_f1"])
        model = mlflow.pyfunc.load_model(f"models:/{INBOUND}@champion")
        answer = model.predict(pd.DataFrame({"text": ["@AmazonHelp my parcel never came"]}))
        assert bool(answer["inbound"].iloc[0]) is True
        for name in ANALYSIS:
            assert str(client.get_model_version_by_alias(name, "champion").version) == "1"
        before = {name: versions(client, name) for name in (INBOUND, *ANALYSIS)}

        # forcing register on an intact store registers nothing twice
        run(["dvc", "repro", "--force", "--single-item", "register"], project)
        assert {name: versions(client, name) for name in (INBOUND, *ANALYSIS)} == before
        assert status(project) == {}
    finally:
        mlflow.set_tracking_uri(None)
