"""The docs' own `spark-submit` line (docs/stream.md, read from the page so the two cannot drift),
submitted to a real Spark standalone master with two workers, with a user's `--conf` that must
win over the job's own choice for the same key."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from streaming.job import STARTED_MARKER
from tweetcare.cluster import spark
from tweetcare.cluster.layout import Layout
from tweetcare.core.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.cluster, pytest.mark.timeout(1200)]

ROOT = Path(__file__).resolve().parents[2]
DOCS_PAGE = ROOT / "docs" / "stream.md"
# generous for a loaded 2-core machine; a bound on waiting, never an assertion about speed
START_TIMEOUT_S = 600.0
STOP_TIMEOUT_S = 120.0
# the job's own choice is 2 (streaming/job.py); the user's must be what the session runs with
USER_CONF = ("spark.sql.shuffle.partitions", "7")


def documented_spark_submit() -> str:
    """The `spark-submit` line of the page's shell block."""
    lines = [line.strip() for line in DOCS_PAGE.read_text().splitlines()]
    found = [line for line in lines if line.startswith("spark-submit ")]
    assert len(found) == 1, f"expected one spark-submit line in {DOCS_PAGE}, found {found}"
    return found[0]


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Layout]:
    """A Spark standalone master and its workers (Spark's own launcher), stopped at the end."""
    layout = Layout.create(tmp_path_factory.mktemp("spark-standalone"))
    try:
        spark.start(layout)
        yield layout
    finally:
        spark.stop(layout)


def test_the_documented_spark_submit_runs_on_the_cluster_and_the_users_conf_wins(
    standalone: Layout, kafka_broker: Settings, tmp_path: Path
) -> None:
    made = subprocess.run(
        ["make", "py-files"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert made.returncode == 0, made.stdout + made.stderr
    line = documented_spark_submit()
    key, value = USER_CONF
    # what a user adds to the documented line: the cluster and their own conf
    submitted = line.replace(
        "spark-submit ",
        f"spark-submit --master {standalone.spark_master_url} --conf {key}={value} ",
        1,
    )
    settings = kafka_broker.model_copy(
        update={
            "state_dir": tmp_path / "state",
            "lake_dir": tmp_path / "lake",
            "tickets_db_url": f"sqlite:///{tmp_path / 'tickets.db'}",
            "topic_tweets": "tweets-submit",
        }
    )
    env = {
        **os.environ,
        **settings.to_env(),
        "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
        **{name: v for name, v in spark.env(standalone).items() if name != "SPARK_LOG_DIR"},
    }
    log_path = tmp_path / "spark-submit.log"
    with log_path.open("w") as log:
        job = subprocess.Popen(
            ["bash", "-c", submitted],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while STARTED_MARKER not in log_path.read_text():
            if job.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the job did not start (exit {job.poll()}):\n{log_path.read_text()}")
            time.sleep(1.0)
        output = log_path.read_text()
        conf_line = re.search(r"spark conf: (.*)", output)
        assert conf_line, output[-4000:]
        effective = dict(pair.split("=", 1) for pair in conf_line.group(1).split())
        assert effective[key] == value  # the user's, not the job's 2
        assert effective["spark.sql.session.timeZone"] == "UTC"  # unset by the user: the job's
        state = spark.master_state(standalone) or {}
        running = [app["name"] for app in state.get("activeapps", [])]
        assert "tweetcare-stream" in running, state
    finally:
        os.killpg(job.pid, signal.SIGTERM)
        try:
            job.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(job.pid, signal.SIGKILL)
            job.wait()
