"""The whole local topology: bring it up or down in dependency order, say what runs, and turn it
into the Settings (and environment) that point tweetcare at it by configuration alone."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tweetcare.cluster import kafka, mlflow, postgres, s3, spark
from tweetcare.cluster.layout import (
    LAKE_BUCKET,
    S3_ACCESS_KEY,
    S3_SECRET_KEY,
    TICKETS_DB,
    Layout,
)
from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.kafka.topics import ensure_topics

# the cluster's folder under the state folder; the runs pointed at it keep their own state in
# RUN_DIR inside it, so a demo's reset never reaches the cluster's storage
CLUSTER_DIR = "cluster"
RUN_DIR = "run"
EXECUTOR_MEMORY = "768m"


@dataclass(frozen=True)
class ServiceState:
    name: str
    running: bool
    address: str


def default_root(settings: Settings) -> Path:
    return settings.state_dir.resolve() / CLUSTER_DIR


def up(root: Path, jars_dir: Path, log: Callable[[str], None] = print) -> Layout:
    """Start whatever is not running (all of it the first time) and the project's topics at
    replication factor 3, min.insync.replicas 2. On a failure, stops what it started."""
    _check_jars(jars_dir)
    layout = Layout.create(root)
    steps: list[tuple[str, Callable[[], object]]] = [
        (f"PostgreSQL on {layout.postgres_url('')}", lambda: postgres.start(layout)),
        (f"S3 (moto) on {layout.s3_endpoint}", lambda: s3.start(layout)),
        # MLflow starts slowly: it comes up while the brokers and Spark start
        (f"MLflow server on {layout.mlflow_url}", lambda: mlflow.start(layout, wait=False)),
        (f"3 Kafka brokers on {layout.kafka_bootstrap}", lambda: kafka.start(layout, jars_dir)),
        (f"Spark master + 2 workers on {layout.spark_master_url}", lambda: spark.start(layout)),
        ("(waiting for MLflow)", lambda: mlflow.wait_ready(layout)),
    ]
    try:
        for what, start in steps:
            log(f"starting {what} ...")
            start()
        created = ensure_topics(cluster_settings(layout, Settings(jars_dir=jars_dir)))
        if created:
            log(f"created topics (replication 3, min.insync.replicas 2): {', '.join(created)}")
    except BaseException:
        down(root, log=lambda _line: None)
        raise
    return layout


@contextmanager
def running_cluster(
    root: Path, base: Settings, log: Callable[[str], None] = print
) -> Iterator[tuple[Layout, Settings, dict[str, str]]]:
    """The cluster up for the length of a block (benchmarks, scripts): its layout, the settings
    pointing at it and the environment for subprocesses; stopped afterwards."""
    layout = up(root, base.jars_dir.resolve(), log=log)
    try:
        settings = cluster_settings(layout, base)
        yield layout, settings, cluster_env(layout, settings)
    finally:
        down(root, log=log)


def down(root: Path, log: Callable[[str], None] = print) -> list[str]:
    """Stop everything the cluster runs, in reverse order; the names of what was running."""
    layout = Layout.load(root)
    if layout is None:
        return []
    stopped: list[str] = []
    for name, stop in (
        ("mlflow", lambda: mlflow.stop(layout)),
        ("spark", lambda: spark.stop(layout)),
        ("kafka", lambda: bool(kafka.stop(layout))),
        ("s3", lambda: s3.stop(layout)),
        ("postgres", lambda: postgres.stop(layout)),
    ):
        if stop():
            stopped.append(name)
            log(f"stopped {name}")
    return stopped


def delete(root: Path, log: Callable[[str], None] = print) -> None:
    """Stop the cluster and delete its state: the cluster folder and the database's files,
    which as root live outside it (see postgres.server_home)."""
    down(root, log=log)
    postgres.delete(root)
    shutil.rmtree(root, ignore_errors=True)


def status(root: Path) -> list[ServiceState]:
    layout = Layout.load(root)
    if layout is None:
        return []
    brokers = kafka.running_nodes(layout)
    return [
        ServiceState("postgres", postgres.running(layout), layout.postgres_url(TICKETS_DB)),
        ServiceState("s3", s3.answers(layout), layout.s3_endpoint),
        ServiceState(
            f"kafka ({len(brokers)}/3 brokers)", len(brokers) == 3, layout.kafka_bootstrap
        ),
        ServiceState(
            f"spark ({spark.alive_workers(layout)}/2 workers)",
            spark.alive_workers(layout) == 2,
            layout.spark_master_url,
        ),
        ServiceState("mlflow", mlflow.answers(layout), layout.mlflow_url),
    ]


def cluster_settings(layout: Layout, base: Settings) -> Settings:
    """`base` pointed at the cluster: every external system moved by settings alone."""
    return base.model_copy(
        update={
            "state_dir": layout.root / RUN_DIR,
            "kafka_bootstrap_servers": layout.kafka_bootstrap,
            "topic_replication_factor": kafka.REPLICATION_FACTOR,
            "topic_min_insync_replicas": kafka.MIN_INSYNC_REPLICAS,
            "spark_master": layout.spark_master_url,
            "spark_conf": spark_conf(layout, base.jars_dir),
            "lake_uri": f"s3a://{LAKE_BUCKET}/lake",
            "checkpoint_uri": f"s3a://{LAKE_BUCKET}/checkpoints/stream",
            "lake_dir": layout.root / RUN_DIR / "lake",
            "s3_endpoint_url": layout.s3_endpoint,
            "s3_region": s3.REGION,
            "aws_access_key_id": S3_ACCESS_KEY,
            "aws_secret_access_key": S3_SECRET_KEY,
            "tickets_db_url": layout.postgres_url(TICKETS_DB),
            "mlflow_tracking_uri": layout.mlflow_url,
        }
    )


def cluster_env(layout: Layout, settings: Settings) -> dict[str, str]:
    """The settings as TWEETCARE_* variables plus what the ecosystem's tools read (MLflow, DVC,
    boto3) for the same systems: the environment of a process that should use the cluster."""
    return {
        **settings.to_env(),
        **s3.credentials_env(layout),
        "MLFLOW_TRACKING_URI": layout.mlflow_url,
    }


def spark_conf(layout: Layout, jars_dir: Path) -> dict[str, str]:
    """Executors sized for the 1-core, 1 GB workers, and s3a:// on the moto server (the
    hadoop-aws jars on the driver's and executors' classpath: same paths on this machine)."""
    s3_jars = f"{(jars_dir / 'spark-s3').resolve()}/*"
    return {
        "spark.executor.cores": "1",
        "spark.executor.memory": EXECUTOR_MEMORY,
        "spark.cores.max": "2",
        "spark.driver.extraClassPath": s3_jars,
        "spark.executor.extraClassPath": s3_jars,
        "spark.hadoop.fs.s3a.endpoint": layout.s3_endpoint,
        "spark.hadoop.fs.s3a.endpoint.region": s3.REGION,
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled": "false",
        "spark.hadoop.fs.s3a.aws.credentials.provider": (
            "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
        ),
        "spark.hadoop.fs.s3a.access.key": S3_ACCESS_KEY,
        "spark.hadoop.fs.s3a.secret.key": S3_SECRET_KEY,
    }


def _check_jars(jars_dir: Path) -> None:
    if not any((jars_dir / "spark-s3").glob("hadoop-aws-*.jar")):
        raise UserError(f"no hadoop-aws jars in {jars_dir / 'spark-s3'}; run `make jars-cluster`")
