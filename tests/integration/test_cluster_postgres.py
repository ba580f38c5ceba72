"""The cluster's real PostgreSQL starts from a project folder closed to other users (`mktemp -d`
gives 0700, as /root is): as root the server runs as the postgres user, which could not reach
files kept there; `tweetcare cluster stop --delete` then leaves nothing of it behind."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tweetcare.cluster import postgres
from tweetcare.cluster.layout import HOST, PG_USER, TICKETS_DB, Layout
from tweetcare.cluster.topology import delete

pytestmark = pytest.mark.integration


@pytest.fixture
def closed_project() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="tweetcare-closed-"))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_postgres_runs_for_a_project_closed_to_other_users(closed_project: Path) -> None:
    root = closed_project / ".tweetcare" / "cluster"
    layout = Layout.create(root)
    try:
        postgres.start(layout)
        dsn = f"host={HOST} port={layout.ports.postgres} user={PG_USER} dbname={TICKETS_DB}"
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        home = postgres.home(layout)
        assert (home / "data" / "PG_VERSION").is_file()
        if os.geteuid() == 0:
            assert not home.is_relative_to(closed_project)
    finally:
        delete(root, log=lambda _line: None)
    assert not postgres.running(layout)
    assert not postgres.home(layout).exists()
    assert not root.exists()
