"""The production-shaped topology on this machine, all real: a Spark standalone master with two
workers, three KRaft Kafka brokers (topics at replication factor 3, min.insync.replicas 2), moto's
S3 server, PostgreSQL and an MLflow server on both. One cluster serves the whole module.

The failure tests run a Structured Streaming query on the standalone master (Kafka -> Delta table
on s3a://, checkpoint on s3a://) and crash one broker, then one worker, while messages flow: every
message must land in the table exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError
from kafka import KafkaProducer

from tweetcare.cluster import kafka as cluster_kafka
from tweetcare.cluster import s3, spark
from tweetcare.cluster.layout import DVC_BUCKET, LAKE_BUCKET, MLFLOW_BUCKET, Layout
from tweetcare.cluster.topology import cluster_env, cluster_settings, down, status, up
from tweetcare.core.settings import Settings
from tweetcare.kafka.replay import FLUSH_TIMEOUT_S
from tweetcare.kafka.topics import describe_topics, ensure_topics

# a test's limit covers its fixtures' setup: the cluster, then the streaming app, under load
pytestmark = [pytest.mark.integration, pytest.mark.cluster, pytest.mark.timeout(1500)]

ROOT = Path(__file__).resolve().parents[2]
# generous bounds for a loaded 2-core machine; never assertions about speed
SINK_TIMEOUT_S = 600.0
APP_START_TIMEOUT_S = 420.0
PER_PHASE = 200

STREAM_APP = """
import sys
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

bootstrap, topic, table, checkpoint, ready = sys.argv[1:6]
spark = (
    SparkSession.builder.appName("tweetcare-cluster-check")
    .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
    .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
    .config("spark.sql.shuffle.partitions", "2")
    .getOrCreate()
)
spark.sparkContext.setLogLevel("WARN")
query = (
    spark.readStream.format("kafka")
    .option("kafka.bootstrap.servers", bootstrap)
    .option("subscribe", topic)
    .option("startingOffsets", "earliest")
    .load()
    .select(F.col("key").cast("string").alias("id"), "partition", "offset")
    .writeStream.format("delta")
    .option("checkpointLocation", checkpoint)
    .trigger(processingTime="2 seconds")
    .start(table)
)
open(ready, "w").close()
query.awaitTermination()
"""


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[Layout, Settings]]:
    """The whole topology, once for the module; stopped and deleted at the end."""
    # PostgreSQL runs as an unprivileged user when we are root: the folder must be reachable
    parent = Path(tempfile.mkdtemp(prefix="tweetcare-cluster-"))
    parent.chmod(0o755)
    root = parent / "cluster"
    jars = (ROOT / ".jars").resolve()
    try:
        layout = up(root, jars, log=lambda _line: None)
        yield layout, cluster_settings(layout, Settings(jars_dir=jars))
    finally:
        down(root, log=lambda _line: None)
        subprocess.run(["rm", "-rf", str(parent)], check=False)


def s3_storage(layout: Layout) -> dict[str, str]:
    """delta-rs options for the moto server."""
    env = s3.credentials_env(layout)
    return {
        "AWS_ENDPOINT_URL": layout.s3_endpoint,
        "AWS_ACCESS_KEY_ID": env["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": env["AWS_SECRET_ACCESS_KEY"],
        "AWS_REGION": s3.REGION,
        "AWS_ALLOW_HTTP": "true",
    }


def test_every_service_runs_and_topics_have_three_replicas(
    cluster: tuple[Layout, Settings],
) -> None:
    layout, settings = cluster
    assert all(state.running for state in status(layout.root)), status(layout.root)
    assert cluster_kafka.registered_brokers(layout) == [1, 2, 3]
    assert spark.alive_workers(layout) == 2
    topics = describe_topics(settings, settings.all_topics)
    assert [t.name for t in topics] == sorted(settings.all_topics)
    for topic in topics:
        assert topic.replication_factor == 3
        assert topic.min_insync_replicas == 2
        assert len(topic.partitions) == settings.topic_partitions
        assert {p.leader for p in topic.partitions} <= {1, 2, 3}
    buckets = {b["Name"] for b in s3.client(layout).list_buckets()["Buckets"]}
    assert {LAKE_BUCKET, MLFLOW_BUCKET, DVC_BUCKET} <= buckets


def test_the_topic_cli_works_on_the_cluster_it_did_not_start(
    cluster: tuple[Layout, Settings],
) -> None:
    layout, settings = cluster
    env = {**os.environ, **cluster_env(layout, settings), "TWEETCARE_TOPIC_TWEETS": "cli-tweets"}
    tweetcare = str(Path(sys.executable).with_name("tweetcare"))
    created = subprocess.run(
        [tweetcare, "kafka", "topics", "create"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
    )
    assert created.returncode == 0, created.stderr
    assert "cli-tweets" in created.stdout
    described = subprocess.run(
        [tweetcare, "kafka", "topics", "describe", "cli-tweets", "--json"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
    )
    assert described.returncode == 0, described.stderr
    assert '"replication_factor": 3' in described.stdout
    assert '"min_insync_replicas": 2' in described.stdout


def test_the_ticket_store_on_postgres_passes_the_sqlite_suite(
    cluster: tuple[Layout, Settings],
) -> None:
    """The unit suites of the store and its migrations, pointed at the cluster's Postgres."""
    _layout, settings = cluster
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/unit/test_tickets.py",
            "tests/unit/test_ticket_migrations.py",
        ],
        check=False,
        env={**os.environ, "TWEETCARE_TEST_TICKETS_DB_URL": settings.tickets_db_url},
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout


def test_mlflow_keeps_runs_in_postgres_and_artifacts_on_s3(
    cluster: tuple[Layout, Settings], tmp_path: Path
) -> None:
    import mlflow
    import psycopg

    layout, settings = cluster
    client = mlflow.MlflowClient(tracking_uri=settings.mlflow_tracking_uri)
    experiment = client.create_experiment(f"cluster-check-{uuid.uuid4().hex[:8]}")
    run = client.create_run(experiment)
    client.log_metric(run.info.run_id, "f1", 0.9)
    note = tmp_path / "note.txt"
    note.write_text("kept on S3")
    client.log_artifact(run.info.run_id, str(note))

    assert client.get_run(run.info.run_id).data.metrics == {"f1": 0.9}
    dsn = layout.postgres_url("mlflow").replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT count(*) FROM runs WHERE run_uuid = %s", (run.info.run_id,))
        assert rows.fetchone() == (1,)
    keys = [
        obj["Key"]
        for obj in s3.client(layout).list_objects_v2(Bucket=MLFLOW_BUCKET)["Contents"]
        if obj["Key"].endswith(f"{run.info.run_id}/artifacts/note.txt")
    ]
    assert len(keys) == 1


def test_dvc_push_and_pull_round_trip_through_the_s3_remote(
    cluster: tuple[Layout, Settings], tmp_path: Path
) -> None:
    layout, _settings = cluster
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, **s3.credentials_env(layout)}
    dvc = str(Path(sys.executable).with_name("dvc"))

    def run(*command: str) -> None:
        result = subprocess.run(
            command, check=False, cwd=repo, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, f"{command}: {result.stderr}{result.stdout}"

    run("git", "init", "-q")
    run(dvc, "init", "-q")
    (repo / "data").mkdir()
    (repo / "data" / "tweets.csv").write_text("tweet_id,text\n1,hello\n")
    run(dvc, "add", "-q", "data")
    prefix = f"dvc-{uuid.uuid4().hex[:8]}"
    run(dvc, "remote", "add", "-d", "storage", f"s3://{DVC_BUCKET}/{prefix}")
    run(dvc, "remote", "modify", "--local", "storage", "endpointurl", layout.s3_endpoint)
    run(dvc, "push", "-q")
    stored = s3.client(layout).list_objects_v2(Bucket=DVC_BUCKET, Prefix=prefix)
    assert stored["KeyCount"] >= 2  # the folder's manifest and the file

    subprocess.run(["rm", "-rf", str(repo / "data"), str(repo / ".dvc" / "cache")], check=True)
    run(dvc, "pull", "-q")
    assert (repo / "data" / "tweets.csv").read_text() == "tweet_id,text\n1,hello\n"


# --- a streaming query on the standalone master, through a broker crash and a worker crash ---


class StreamCheck:
    """A Kafka -> Delta-on-s3a streaming app on the cluster, fed with numbered messages."""

    def __init__(self, layout: Layout, settings: Settings, work: Path) -> None:
        self.layout, self.settings = layout, settings
        self.topic = f"check-{uuid.uuid4().hex[:8]}"
        self.table = f"s3a://{LAKE_BUCKET}/checks/{self.topic}"
        self.sent: list[str] = []
        ensure_topics(settings, [self.topic])
        app = work / "stream_app.py"
        app.write_text(STREAM_APP)
        self.ready = work / "ready"
        jars = sorted((settings.jars_dir / "spark").resolve().glob("*.jar"))
        command = [str(Path(sys.executable).with_name("spark-submit"))]
        command += ["--master", settings.spark_master, "--jars", ",".join(map(str, jars))]
        for key, value in {**settings.spark_conf, "spark.ui.enabled": "false"}.items():
            command += ["--conf", f"{key}={value}"]
        command += [str(app), settings.kafka_bootstrap, self.topic, self.table]
        command += [f"s3a://{LAKE_BUCKET}/checkpoints/{self.topic}", str(self.ready)]
        self.log = (work / "app.log").open("wb")
        self.process = subprocess.Popen(
            command,
            env={**os.environ, "PYSPARK_PYTHON": sys.executable},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.producer = KafkaProducer(**settings.kafka_client_options(), linger_ms=5)

    def wait_started(self) -> None:
        deadline = time.monotonic() + APP_START_TIMEOUT_S
        while not self.ready.exists():
            assert self.process.poll() is None, self.log_tail()
            assert time.monotonic() < deadline, self.log_tail()
            time.sleep(1.0)

    def send(self, count: int) -> None:
        """`count` new numbered messages, each acknowledged by the in-sync replicas."""
        start = len(self.sent)
        ids = [f"m{n:06d}" for n in range(start, start + count)]
        futures = [self.producer.send(self.topic, key=i.encode(), value=b"x") for i in ids]
        self.producer.flush(timeout=FLUSH_TIMEOUT_S)
        for future in futures:
            future.get(timeout=FLUSH_TIMEOUT_S)
        self.sent += ids

    def sink_ids(self) -> list[str]:
        try:
            table = DeltaTable(self.table.replace("s3a://", "s3://"), storage_options=self.storage)
        except TableNotFoundError:  # the table appears with the first batch
            return []
        return table.to_pyarrow_table(columns=["id"]).column("id").to_pylist()

    @property
    def storage(self) -> dict[str, str]:
        return s3_storage(self.layout)

    def wait_for_everything(self) -> list[str]:
        deadline = time.monotonic() + SINK_TIMEOUT_S
        while True:
            ids = self.sink_ids()
            if len(set(ids)) >= len(self.sent) or time.monotonic() > deadline:
                return ids
            assert self.process.poll() is None, self.log_tail()
            time.sleep(2.0)

    def stop(self) -> None:
        self.producer.close(timeout=FLUSH_TIMEOUT_S)
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()

    def log_tail(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-4000:]


@pytest.fixture(scope="module")
def stream_check(
    cluster: tuple[Layout, Settings], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StreamCheck]:
    layout, settings = cluster
    check = StreamCheck(layout, settings, tmp_path_factory.mktemp("stream-check"))
    try:
        check.wait_started()
        yield check
    finally:
        check.stop()


def assert_exactly_once(check: StreamCheck) -> None:
    ids = check.wait_for_everything()
    assert sorted(set(ids)) == sorted(check.sent), "messages lost"
    assert len(ids) == len(check.sent), "messages duplicated"


def test_a_broker_crash_mid_stream_loses_nothing(stream_check: StreamCheck) -> None:
    layout, jars = stream_check.layout, stream_check.settings.jars_dir
    stream_check.send(PER_PHASE)
    assert_exactly_once(stream_check)  # the query is flowing
    # the broker leading a partition of the topic dies without a controlled shutdown
    leader = describe_topics(stream_check.settings, [stream_check.topic])[0].partitions[0].leader
    assert cluster_kafka.stop_node(layout, leader, kill=True)
    try:
        stream_check.send(PER_PHASE)  # two in-sync replicas remain: writes are acknowledged
        assert_exactly_once(stream_check)
    finally:
        cluster_kafka.start_node(layout, leader, jars)
    stream_check.send(PER_PHASE)
    assert_exactly_once(stream_check)


def test_a_worker_crash_mid_stream_loses_and_duplicates_nothing(
    stream_check: StreamCheck,
) -> None:
    layout = stream_check.layout
    stream_check.send(PER_PHASE)
    assert_exactly_once(stream_check)  # the query is flowing, on both workers' executors
    assert spark.stop_worker(layout, 1, kill=True)  # the worker and its executor die
    try:
        stream_check.send(PER_PHASE)  # the master reschedules on the other worker
        assert_exactly_once(stream_check)
    finally:
        spark.start_worker(layout, 1)
    stream_check.send(PER_PHASE)
    assert_exactly_once(stream_check)
