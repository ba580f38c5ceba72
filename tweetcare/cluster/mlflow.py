"""An MLflow tracking and registry server: backend store in the cluster's PostgreSQL, artifacts
on the S3 server (proxied, so clients need only the server's URL)."""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

from tweetcare.cluster import s3
from tweetcare.cluster.layout import HOST, MLFLOW_BUCKET, MLFLOW_DB, Layout
from tweetcare.process import Service

# its first start creates ~50 schema revisions in Postgres and imports the server app: slow
# on a busy machine
READY_TIMEOUT_S = 600.0
ARTIFACTS = f"s3://{MLFLOW_BUCKET}/artifacts"


def service(layout: Layout) -> Service:
    return Service("mlflow", layout.root)


def start(layout: Layout, wait: bool = True) -> None:
    svc = service(layout)
    if not svc.is_running():
        mlflow = Path(sys.executable).with_name("mlflow")
        svc.start(
            [
                str(mlflow),
                "server",
                "--host",
                HOST,
                "--port",
                str(layout.ports.mlflow),
                "--backend-store-uri",
                layout.postgres_url(MLFLOW_DB),
                "--artifacts-destination",
                ARTIFACTS,
                "--workers",
                "1",
            ],
            env=s3.credentials_env(layout),
            cwd=layout.root,
        )
    if wait:
        wait_ready(layout)


def wait_ready(layout: Layout) -> None:
    service(layout).wait_until(lambda: answers(layout), READY_TIMEOUT_S, "answering")


def stop(layout: Layout) -> bool:
    return service(layout).stop()


def answers(layout: Layout) -> bool:
    try:
        with urllib.request.urlopen(f"{layout.mlflow_url}/health", timeout=3) as answer:
            return answer.status == 200
    except OSError:
        return False
