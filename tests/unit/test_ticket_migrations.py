"""The ticket store's Alembic migrations: a new database reaches head, the migrated schema is
exactly the models' schema, and a database made before migrations keeps its data.

Runs on SQLite here; TWEETCARE_TEST_TICKETS_DB_URL runs it on another database (the cluster
tests run it on their Postgres)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from tweetcare.tickets import audit
from tweetcare.tickets.engine import make_engine
from tweetcare.tickets.migrations import (
    BASELINE,
    alembic_config,
    head,
    schema_revision,
    upgrade_schema,
)
from tweetcare.tickets.models import Base

OTHER_DATABASE = "TWEETCARE_TEST_TICKETS_DB_URL"


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    """An empty database: a new SQLite file, or the other database with every table dropped."""
    other = os.environ.get(OTHER_DATABASE)
    if not other:
        yield f"sqlite:///{tmp_path / 'db' / 'tickets.db'}"
        return
    engine = make_engine(other)
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        # the store's create_schema makes the audit trail too (its own metadata): other suites
        # run on this database leave it, and the models' schema has no such table
        audit.AuditBase.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    yield other


def schema_differences(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_a_new_database_is_created_at_head_with_the_models_schema(url: str) -> None:
    upgrade_schema(url)
    assert schema_revision(url) == head()
    assert schema_differences(url) == []


def test_upgrading_again_changes_nothing(url: str) -> None:
    upgrade_schema(url)
    upgrade_schema(url)
    assert schema_revision(url) == head()


def test_a_database_from_before_migrations_keeps_its_rows(url: str) -> None:
    engine = make_engine(url)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    with engine.begin() as connection:
        # the tables an older tweetcare made with create_all: the baseline's, with no version
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, BASELINE)
        connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(
            text(
                "INSERT INTO stream_batches (batch_id, n_messages, n_valid, n_dead_lettered, "
                "n_inbound, n_outbound, n_tickets_opened, processed_at) "
                "VALUES ('s-1', 5, 4, 1, 3, 1, 2, CURRENT_TIMESTAMP)"
            )
        )
    engine.dispose()
    assert schema_revision(url) is None

    upgrade_schema(url)

    assert schema_revision(url) == head()
    engine = make_engine(url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n_messages FROM stream_batches")).scalar() == 5
    engine.dispose()


def test_tables_dropped_by_hand_are_created_again(url: str) -> None:
    upgrade_schema(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
    engine.dispose()

    upgrade_schema(url)

    engine = make_engine(url)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_the_baseline_is_the_one_root_of_the_revisions() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    assert scripts.get_bases() == [BASELINE]
    assert [r.revision for r in scripts.walk_revisions()][-1] == BASELINE


def test_migrations_run_when_the_code_is_imported_from_a_zip(tmp_path: Path) -> None:
    """The stream ships its code as a zip (`spark-submit --py-files`); Alembic still finds its
    scripts, so the job's driver can create or migrate the ticket store from there."""
    package_root = Path(__file__).resolve().parents[2]
    code = tmp_path / "code.zip"
    with zipfile.ZipFile(code, "w") as archive:
        for source in sorted((package_root / "tweetcare").rglob("*.py")):
            archive.write(source, source.relative_to(package_root).as_posix())
    url = f"sqlite:///{tmp_path / 'tickets.db'}"
    script = (
        "import tweetcare.tickets.store as store, sys; "
        "assert '.zip' in store.__file__, store.__file__; "
        "store.TicketStore(sys.argv[1]).create_schema()"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, url],
        env={**os.environ, "PYTHONPATH": str(code)},
        cwd=tmp_path,  # not the checkout, whose own tweetcare/ would come first
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert schema_revision(url) == head()
