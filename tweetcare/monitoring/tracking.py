"""Logging a monitor run to MLflow: its figures as metrics, its HTML reports as artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

EXPERIMENT = "tweetcare-monitoring"


def log_run(
    tracking_uri: str,
    metrics: dict[str, float],
    params: dict[str, Any],
    tags: dict[str, str],
    reports: list[Path],
) -> str:
    """One MLflow run in the `tweetcare-monitoring` experiment; returns its run id."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(EXPERIMENT)
    with mlflow.start_run(run_name=tags.get("window_end")) as run:
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        mlflow.set_tags(tags)
        for report in reports:
            mlflow.log_artifact(str(report), artifact_path="reports")
    return run.info.run_id
