"""An S3 API server on loopback: moto's server mode (a real S3 HTTP endpoint, state in memory),
with the buckets for the lake and checkpoints, MLflow's artifacts and the DVC remote."""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path
from typing import Any

from tweetcare.cluster.layout import (
    DVC_BUCKET,
    HOST,
    LAKE_BUCKET,
    MLFLOW_BUCKET,
    S3_ACCESS_KEY,
    S3_SECRET_KEY,
    Layout,
)
from tweetcare.process import Service

READY_TIMEOUT_S = 60.0
BUCKETS = (LAKE_BUCKET, MLFLOW_BUCKET, DVC_BUCKET)
REGION = "us-east-1"


def service(layout: Layout) -> Service:
    return Service("s3", layout.root)


def start(layout: Layout) -> None:
    svc = service(layout)
    if not svc.is_running():
        moto = Path(sys.executable).with_name("moto_server")
        svc.start([str(moto), "-H", HOST, "-p", str(layout.ports.s3)], cwd=layout.root)
    svc.wait_until(lambda: answers(layout), READY_TIMEOUT_S, "answering")
    s3 = client(layout)
    for bucket in BUCKETS:
        s3.create_bucket(Bucket=bucket)


def stop(layout: Layout) -> bool:
    return service(layout).stop()


def answers(layout: Layout) -> bool:
    try:
        with urllib.request.urlopen(layout.s3_endpoint, timeout=2):
            return True
    except OSError:
        return False


def credentials_env(layout: Layout) -> dict[str, str]:
    """What boto3, DVC, MLflow and s3fs read to reach this server."""
    return {
        "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL_S3": layout.s3_endpoint,
        "MLFLOW_S3_ENDPOINT_URL": layout.s3_endpoint,
    }


def client(layout: Layout) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=layout.s3_endpoint,
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
        region_name=REGION,
    )
