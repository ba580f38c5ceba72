"""The whole training path for real: `tweetcare train` on a generated twcs file into a throwaway
sqlite MLflow, all five model families, the registry's gate, and `tweetcare evaluate` after it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
import yaml

from tweetcare.data.generator import write_dataset

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MODEL = "tweet-inbound"
FAMILIES = {"baseline", "rnn", "lstm", "gru", "minilm"}


def tiny_params(path: Path, min_tweets_per_second: float = 1.0) -> Path:
    """The repository's params.yaml with the quick profile shrunk to seconds per model."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["split"]["profiles"]["quick"] = {"train": 500, "val": 150, "test": 150}
    params["train"]["sequence"].update(embedding_dim=16, hidden=16, max_epochs=1, patience=1)
    params["train"]["transformer"]["train_sample"] = 80
    params["train"]["tokenizer"]["vocab_size"] = 2000
    params["train"]["latency_repeats"] = 1
    params["models"]["inbound"]["min_tweets_per_second"] = min_tweets_per_second
    params["models"]["latency_batch"] = 32
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def run(args: list[str], cwd: Path, tracking_uri: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "TWEETCARE_MLFLOW_TRACKING_URI": tracking_uri,
        "HF_HUB_OFFLINE": "1",
    }
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done


def test_train_compares_five_models_registers_the_winner_and_gates_it(tmp_path: Path) -> None:
    twcs, _ = write_dataset(tmp_path / "data", rows=1500, seed=7)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    work = tmp_path / "work"
    params = tiny_params(tmp_path / "params.yaml")

    run(
        [
            "tweetcare",
            "train",
            "--data",
            str(twcs),
            "--workdir",
            str(work),
            "--params-file",
            str(params),
        ],
        tmp_path,
        uri,
    )

    result = json.loads((work / "train" / "result.json").read_text())
    assert set(result["models"]) == FAMILIES and result["winner"] in FAMILIES
    promotion = json.loads((work / "metrics" / "register.json").read_text())
    assert promotion["alias"] == "champion" and "first model" in promotion["reason"]

    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient()
    champion = client.get_model_version_by_alias(MODEL, "champion")
    assert champion.run_id == result["run_id"]
    assert champion.tags["promotion.decision"] == "champion"
    assert "md5:" in champion.description and "## Limits" in champion.description
    parent = client.get_run(result["parent_run_id"])
    assert parent.data.tags["comparison.winner"] == result["winner"]
    children = mlflow.search_runs(
        experiment_ids=[parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
        output_format="list",
    )
    assert {c.info.run_name for c in children} >= FAMILIES

    # any registered model on any twcs file
    scored = run(
        [
            "tweetcare",
            "evaluate",
            "--model-uri",
            f"models:/{MODEL}@champion",
            "--data",
            str(twcs),
            "--json",
        ],
        tmp_path,
        uri,
    )
    record = json.loads(scored.stdout.strip().splitlines()[-1])
    assert record["n"] > 1000 and record["f1"] > 0.8

    # the same candidate under an impossible serving budget: the gate refuses it, says why
    slow = tiny_params(tmp_path / "slow.yaml", min_tweets_per_second=1e9)
    refused = run(
        [
            sys.executable,
            "-m",
            "pipelines.register",
            "--result-path",
            str(work / "train" / "result.json"),
            "--test-path",
            str(work / "features" / "test.parquet"),
            "--metrics-path",
            str(tmp_path / "register.json"),
            "--params-path",
            str(slow),
        ],
        ROOT,
        uri,
    )
    assert "@challenger: too slow" in refused.stdout
    assert client.get_model_version_by_alias(MODEL, "champion").version == champion.version
