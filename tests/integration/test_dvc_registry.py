"""The MLflow registry as pipeline state: the real `dvc repro` of the whole pipeline in a
throwaway repo (the session's shared one), then `mlflow.db` deleted, `dvc status` naming `register`, and `dvc repro`
putting every model back from the DVC-cached copies without retraining."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from tests.fixtures.project import run_in

pytestmark = pytest.mark.integration

INBOUND = "tweet-inbound"
ANALYSIS = ("tweet-sentiment", "tweet-category", "tweet-entities")


def status(project: Path) -> dict:
    return json.loads(run_in(project, ["dvc", "status", "--json"]).stdout or "{}")


def versions(client: MlflowClient, name: str) -> list[str]:
    return sorted(str(v.version) for v in client.search_model_versions(f"name = '{name}'"))


def test_a_deleted_registry_is_a_changed_register_stage_that_repro_restores(
    trained_project: Path,
) -> None:
    project = trained_project  # after the whole `dvc repro`, shared with the end-to-end test
    assert status(project) == {}  # register ran last: nothing wrote to the store after it
    store = project / "mlflow.db"
    promotion = json.loads((project / "metrics/register.json").read_text())

    store.unlink()
    assert status(project) == {"register": [{"changed outs": {"mlflow.db": "deleted"}}]}, (
        "dvc status must name register, and only register"
    )

    again = run_in(project, ["dvc", "repro"])
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
        run_in(project, ["dvc", "repro", "--force", "--single-item", "register"])
        assert {name: versions(client, name) for name in (INBOUND, *ANALYSIS)} == before
        assert status(project) == {}
    finally:
        mlflow.set_tracking_uri(None)
