"""The ticket database a store works on: its engine and sessions, creating or migrating the
schema, and the write transaction every job of the store shares (SQLite's write lock taken at
its start, an outage or a lost race waited out with bounded backoff, a replayed row skipped)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, inspect
from sqlalchemy import insert as sa_insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import sessionmaker

from tweetcare.backoff import Backoff, retry
from tweetcare.core.errors import UserError
from tweetcare.tickets import audit
from tweetcare.tickets.engine import IMMEDIATE, make_engine, sqlite_file
from tweetcare.tickets.models import Base, Ticket

T = TypeVar("T")

# how long the stream waits out a ticket store that is down or locked before it gives up
STORE_OUTAGE = Backoff(total_s=300.0, first_s=0.5, max_s=15.0)


class ConcurrentWrite(RuntimeError):
    """Another writer opened the same ticket between our read and our write; retried."""


class TicketDatabase:
    """The connection to the tickets' tables, shared by each of the store's jobs."""

    def __init__(self, url: str, backoff: Backoff = STORE_OUTAGE) -> None:
        self.url = url
        self.backoff = backoff
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._checked = False

    def create_schema(self) -> None:
        """Create the schema, or migrate an older one to the latest revision (Alembic)."""
        from tweetcare.tickets.migrations import upgrade_schema

        try:
            upgrade_schema(self.url)
        except DBAPIError as err:
            # tables the migrations cannot take: name what they lack, else say what failed
            self._check_columns()
            reason = str(err.orig).splitlines()[0] if err.orig else str(err)
            raise UserError(
                f"the ticket database {self.url} could not be migrated ({reason}): point "
                "TWEETCARE_TICKETS_DB_URL at a new database, or delete this one"
            ) from err
        self._check_columns()
        # here, once, not from the stream's tasks, which append to it concurrently
        audit.create_table(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def _insert(self, table: Table) -> Any:
        """INSERT that skips rows whose key is already there (the replay of a batch)."""
        dialect = self.engine.dialect.name
        if dialect == "postgresql":
            return postgresql_insert(table).on_conflict_do_nothing()
        if dialect == "sqlite":
            return sqlite_insert(table).on_conflict_do_nothing()
        return sa_insert(table)  # other databases: the rows were checked under the lock

    @contextmanager
    def writer(self) -> Iterator[Connection]:
        """One write transaction (holding SQLite's write lock from its start)."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(**{IMMEDIATE: True})
            with conn.begin():
                yield conn

    def _retrying(self, action: Callable[[], T], what: str) -> T:
        """Wait out a store that is down or busy (bounded, logged), then go on."""
        where = make_url(self.url).render_as_string(hide_password=True)
        return retry(action, _transient, self.backoff, f"ticket store {where} ({what})")

    def _exists(self) -> bool:
        """False for a SQLite file not yet created: reading must not create an empty one."""
        path = sqlite_file(self.url)
        return path is None or path.exists()

    def has_schema(self) -> bool:
        """Whether the database holds the ticket tables yet (readers must not create them)."""
        return self._has_schema()

    def _has_schema(self) -> bool:
        if not self._exists() or not inspect(self.engine).has_table(Ticket.__tablename__):
            return False
        self._check_columns()
        return True

    def _check_columns(self) -> None:
        """A database the migrations do not know (tables from elsewhere) lacks columns: say so
        instead of failing in SQL."""
        if self._checked or not self._exists():
            return
        found = inspect(self.engine)
        for table in Base.metadata.sorted_tables:
            if not found.has_table(table.name):
                continue
            have = {column["name"] for column in found.get_columns(table.name)}
            missing = sorted(set(table.columns.keys()) - have)
            if missing:
                raise UserError(
                    f"the ticket database {self.url} was written by an older tweetcare "
                    f"(table {table.name} lacks {', '.join(missing)}): delete it, or point "
                    "TWEETCARE_TICKETS_DB_URL at a new one"
                )
        self._checked = True


def _transient(err: Exception) -> bool:
    """Worth waiting for: the database is down, restarting, locked, or we lost a race."""
    if isinstance(err, ConcurrentWrite | OperationalError):
        return True
    return isinstance(err, DBAPIError) and err.connection_invalidated
