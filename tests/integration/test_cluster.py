"""The production-shaped topology on this machine, all real: a Spark standalone master with two
workers, three KRaft Kafka brokers (topics at replication factor 3, min.insync.replicas 2), moto's
S3 server, PostgreSQL and an MLflow server on both. One cluster serves the whole module.

tweetcare's own stream runs on it by settings alone (the job on the standalone master, lake and
checkpoint on s3a://, tickets in Postgres, the model server over HTTP): end to end, then while one
broker, then one worker, is killed mid-stream; every tweet must land in the lake exactly once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.fixtures.registry import INBOUND_ACCURACY_FLOOR
from tweetcare.cli.stream import app as stream_app
from tweetcare.cli.stream import start_stream, stop_stream
from tweetcare.cluster import kafka as cluster_kafka
from tweetcare.cluster import postgres, s3, spark
from tweetcare.cluster.layout import DVC_BUCKET, LAKE_BUCKET, MLFLOW_BUCKET, Layout
from tweetcare.cluster.topology import cluster_env, cluster_settings, delete, status, up
from tweetcare.core.settings import Settings
from tweetcare.core.storage import TWEETS_TABLE, read_table
from tweetcare.data.generator import write_dataset
from tweetcare.kafka.replay import publish_raw, replay
from tweetcare.kafka.topics import describe_topics, ensure_topics
from tweetcare.process import Service
from tweetcare.summary import collect_summary, consumed_messages
from tweetcare.tickets import TicketStore

# a test's limit covers its fixtures' setup: the cluster, then the streaming app, under load
pytestmark = [pytest.mark.integration, pytest.mark.cluster, pytest.mark.timeout(1500)]

ROOT = Path(__file__).resolve().parents[2]
# generous bounds for a loaded 2-core machine; never assertions about speed
SINK_TIMEOUT_S = 600.0
PER_PHASE = 200

GENERATED_ROWS = 1200
# msgs/s: a slice takes 40 s to arrive, longer than a batch on the cluster, so the crash comes
# while tweets are still arriving and a batch is being scored and written
CRASH_REPLAY_RATE = 5.0
CRASH_INTO_BATCH_S = 3.0
MALFORMED = [b"not json at all", b'{"tweet_id": "m1"}', b"\xff\xfe not utf-8"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[Layout, Settings]]:
    """The whole topology, once for the module; stopped and deleted at the end. Its folder is
    closed to other users (mktemp -d), as a user's often is: as root, PostgreSQL (run as the
    unprivileged postgres user) keeps its files where it can reach them."""
    parent = Path(tempfile.mkdtemp(prefix="tweetcare-cluster-"))
    root = parent / "cluster"
    jars = (ROOT / ".jars").resolve()
    try:
        layout = up(root, jars, log=lambda _line: None)
        yield layout, cluster_settings(layout, Settings(jars_dir=jars))
    finally:
        delete(root, log=lambda _line: None)
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


# --- tweetcare's own stream on the cluster: end to end, then through a broker and a worker crash ---


class CareStream:
    """`tweetcare stream start` pointed at the cluster by settings alone: the job on the
    standalone master, the 3-broker topics, the lake and checkpoint on s3a://, tickets in
    Postgres, the model server over HTTP. Tweets are replayed in slices of one generated set."""

    def __init__(self, layout: Layout, settings: Settings, csv: Path, work: Path) -> None:
        self.layout, self.settings = layout, settings
        self.rows = pd.read_csv(csv, dtype=str).sort_values("created_at", kind="stable")
        self.work = work
        self.replayed = 0  # messages on the topic so far, malformed ones included
        self.replayed_rows = 0  # generated tweets among them

    def replay_slice(self, count: int, rate: float | None = None) -> int:
        """The next `count` generated tweets onto the topic (at `rate` msgs/s if given)."""
        chunk = self.rows.iloc[self.replayed_rows : self.replayed_rows + count]
        path = self.work / f"slice-{self.replayed_rows}.csv"
        chunk.to_csv(path, index=False)
        sent = replay(path, self.settings, rate=rate, progress=False).sent
        self.replayed_rows += len(chunk)
        self.replayed += sent
        return sent

    def wait_until_done(self) -> None:
        """Until the job has counted every replayed message as consumed (it does so last, once
        the batch's lake rows, dead letters and output topics are written); fails on timeout."""
        job = self.job
        deadline = time.monotonic() + SINK_TIMEOUT_S
        while (done := self.consumed()) < self.replayed:
            assert job.is_running(), job.log_tail(80)
            assert time.monotonic() < deadline, (
                f"{done} of {self.replayed} consumed after {SINK_TIMEOUT_S:.0f}s\n"
                + job.log_tail(80)
            )
            time.sleep(2.0)

    def consumed(self) -> int:
        return consumed_messages(self.settings)

    def lake_ids(self) -> list[str]:
        tweets = read_table(self.settings, TWEETS_TABLE, columns=["tweet_id"])
        assert tweets is not None, "no tweets table on s3a://"
        return tweets.column("tweet_id").to_pylist()

    def assert_exactly_once(self) -> None:
        """Every replayed tweet once in the lake (raw rows, not distinct ids), figures reconciled."""
        self.wait_until_done()
        ids = self.lake_ids()
        expected = set(self.rows.tweet_id.iloc[: self.replayed_rows])
        assert set(ids) == expected, f"lost {len(expected - set(ids))} tweets"
        assert len(ids) == len(expected), f"{len(ids) - len(expected)} tweets archived twice"
        problems = collect_summary(self.settings, replayed=self.replayed).problems()
        assert problems == [], problems

    @property
    def job(self) -> Service:
        return Service("stream", self.settings.state_dir)

    def log_tail(self, lines: int = 80) -> str:
        return self.job.log_tail(lines)


@pytest.fixture(scope="module")
def care_stream(
    cluster: tuple[Layout, Settings],
    bento_server: Callable[..., str],
    full_registry: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[CareStream]:
    layout, base = cluster
    work = tmp_path_factory.mktemp("care-stream")
    name = f"care{uuid.uuid4().hex[:6]}"
    postgres.create_database(layout, name)
    settings = base.model_copy(
        update={
            "state_dir": work / "state",
            "lake_uri": f"s3a://{LAKE_BUCKET}/{name}/lake",
            "checkpoint_uri": f"s3a://{LAKE_BUCKET}/{name}/checkpoints/stream",
            "tickets_db_url": layout.postgres_url(name),
            "topic_tweets": f"{name}-tweets",
            "topic_tickets": f"{name}-tickets",
            "topic_replies": f"{name}-replies",
            "topic_dlq": f"{name}-dlq",
            "bento_port": urlparse(bento_server(full_registry)).port,
            "trigger_seconds": 1.0,
        }
    )
    ensure_topics(settings)
    csv, _labels = write_dataset(work / "data", rows=GENERATED_ROWS, seed=23)
    stream = CareStream(layout, settings, csv, work)
    try:
        start_stream(settings)
        yield stream
    finally:
        stop_stream(settings)


def test_the_care_stream_runs_end_to_end_on_the_cluster(care_stream: CareStream) -> None:
    settings = care_stream.settings
    care_stream.replay_slice(PER_PHASE)
    care_stream.replayed += publish_raw(settings, MALFORMED)
    care_stream.assert_exactly_once()

    summary = collect_summary(settings, replayed=care_stream.replayed)
    assert summary.dead_lettered == len(MALFORMED)
    tweets = read_table(settings, TWEETS_TABLE)
    assert tweets is not None
    frame = tweets.to_pandas()
    # the champion answered over HTTP from the cluster's executors
    assert frame.model_version.notna().all()
    assert (frame.predicted_inbound == frame.inbound).mean() >= INBOUND_ACCURACY_FLOOR
    # tickets in Postgres: one per customer conversation that needs one
    store = TicketStore(settings.tickets_db_url)
    try:
        threads = set(frame.loc[frame.predicted_inbound & frame.needs_ticket, "conversation_id"])
        tickets = store.list_tickets(limit=10 * PER_PHASE)
        assert {t.conversation_id for t in tickets} == threads
        assert summary.tickets_opened == len(threads) > 0
    finally:
        store.close()
    assert settings.tickets_db_url.startswith("postgresql")
    listed = s3.client(care_stream.layout).list_objects_v2(
        Bucket=LAKE_BUCKET, Prefix=settings.lake_uri.split(f"{LAKE_BUCKET}/", 1)[1]
    )
    assert any(obj["Key"].endswith(".parquet") for obj in listed.get("Contents", []))


def replay_while(stream: CareStream, crash: Callable[[], None]) -> None:
    """Replay a slice at a steady rate; once the stream has finished its first batch of it,
    crash something a few seconds into the next batch (which holds what arrived meanwhile),
    while the rest of the slice is still arriving."""
    before = stream.consumed()
    with ThreadPoolExecutor(max_workers=1) as pool:
        sending = pool.submit(stream.replay_slice, PER_PHASE, CRASH_REPLAY_RATE)
        deadline = time.monotonic() + SINK_TIMEOUT_S
        while stream.consumed() == before:
            if sending.done() and sending.exception() is not None:
                sending.result()  # the replay failed: raise its error
            assert time.monotonic() < deadline, stream.log_tail()
            time.sleep(0.5)
        time.sleep(CRASH_INTO_BATCH_S)
        crash()
        sending.result()


def test_a_broker_crash_mid_stream_loses_and_duplicates_nothing(
    care_stream: CareStream,
) -> None:
    layout, settings = care_stream.layout, care_stream.settings
    topic = describe_topics(settings, [settings.topic_tweets])[0]
    leader = topic.partitions[0].leader
    try:
        # the broker leading the tweets topic dies without a controlled shutdown; two in-sync
        # replicas remain, so the producer's writes are still acknowledged
        replay_while(care_stream, lambda: cluster_kafka.stop_node(layout, leader, kill=True))
        care_stream.assert_exactly_once()
        moved = describe_topics(settings, [settings.topic_tweets])[0].partitions[0].leader
        assert moved != leader
    finally:
        cluster_kafka.start_node(layout, leader, settings.jars_dir)
    care_stream.replay_slice(PER_PHASE)
    care_stream.assert_exactly_once()


def test_a_worker_crash_mid_stream_loses_and_duplicates_nothing(
    care_stream: CareStream,
) -> None:
    layout = care_stream.layout
    try:
        # the worker and its executor die mid-batch; the master reschedules on the other one
        replay_while(care_stream, lambda: spark.stop_worker(layout, 1, kill=True))
        care_stream.assert_exactly_once()
        assert spark.alive_workers(layout) == 1
    finally:
        spark.start_worker(layout, 1)
    care_stream.replay_slice(PER_PHASE)
    care_stream.assert_exactly_once()


def test_no_secret_reaches_the_streams_logs_state_or_status(
    care_stream: CareStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    # after the stream ran and restarted on the cluster: its logs, the supervisor's saved
    # command lines and progress files, and `stream status --json` hold no S3 secret
    settings = care_stream.settings
    secret = s3.credentials_env(care_stream.layout)["AWS_SECRET_ACCESS_KEY"]
    assert secret in json.dumps(settings.to_env())  # the job does get it, by its environment
    written = "\n".join(
        path.read_text(errors="replace")
        for path in settings.state_dir.rglob("*")
        if path.is_file() and path.suffix not in {".zip", ".whl"}
    )
    assert "stream" in written  # the logs are there to search
    for name, value in settings.to_env().items():
        monkeypatch.setenv(name, value)
    status = CliRunner().invoke(stream_app, ["status", "--json"])
    assert json.loads(status.output)["up"], status.output
    assert secret not in written
    assert secret not in status.output
