"""Engines for the ticket store: any SQLAlchemy URL, with SQLite tuned for one writer, many readers.

SQLite lets one writer in at a time. A connection opened with the `IMMEDIATE` execution option
takes the write lock when its transaction begins, so two stream tasks applying tickets at once
queue up (busy timeout) instead of both reading, then one failing on its write.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

# how long SQLite waits for another writer (the CLI reading while the stream writes)
SQLITE_BUSY_TIMEOUT_MS = 30_000
# execution option: begin the transaction holding SQLite's write lock (ignored elsewhere)
IMMEDIATE = "tweetcare_immediate"


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def make_engine(url: str) -> Engine:
    """An engine for any URL; SQLite gets WAL and a busy timeout so a reader never blocks the stream.

    Its errors and logs never quote the statement's parameters (`hide_parameters`): those are
    tweets, handles and replies, and a failed bulk insert would put thousands in one line."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, hide_parameters=True)
    engine = create_engine(
        url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, hide_parameters=True
    )

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        # SQLAlchemy, not the driver, decides when a transaction begins (see _begin)
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def describe_db_error(err: BaseException) -> str:
    """What a database refused, in words that quote no value: the driver's error class, and the
    SQLSTATE, constraint and column when the driver names them. A database's own message can
    quote the row ("Failing row contains ..."): it stays out of dead letters and logs."""
    orig = getattr(err, "orig", None) or err
    diag = getattr(orig, "diag", None)
    facts = [
        f"{label} {value}"
        for label, value in (
            ("SQLSTATE", getattr(orig, "sqlstate", None)),
            ("code", getattr(orig, "sqlite_errorname", None)),
            ("constraint", getattr(diag, "constraint_name", None)),
            ("column", getattr(diag, "column_name", None)),
        )
        if value
    ]
    return f"{type(orig).__name__} ({', '.join(facts)})" if facts else type(orig).__name__
