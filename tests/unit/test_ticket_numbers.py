"""Short ticket numbers: given by the database in order, unique under concurrent writers and
across restarts, backfilled for older tickets; lookups by number or a unique prefix of the id.

Runs on SQLite here; TWEETCARE_TEST_TICKETS_DB_URL runs it on another database, and
tests/integration/test_ticket_numbers_postgres.py runs it on a real PostgreSQL."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, text
from typer.testing import CliRunner

from tests.unit.test_tickets import customer
from tweetcare.cli import app
from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.tickets import TicketStore, actions, audit
from tweetcare.tickets.engine import make_engine
from tweetcare.tickets.migrations import alembic_config, head, upgrade_schema
from tweetcare.tickets.models import Base, Ticket, ticket_id_for
from tweetcare.tickets.replies import load_replies
from tweetcare.tickets.routing import load_routing

OTHER_DATABASE = "TWEETCARE_TEST_TICKETS_DB_URL"
WRITERS = 4
TICKETS_PER_WRITER = 25
runner = CliRunner()


def empty_database(url: str) -> str:
    """`url` with every ticket table dropped (a new SQLite file needs nothing)."""
    engine = make_engine(url)
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        audit.AuditBase.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    return url


@pytest.fixture
def url(tmp_path: Path) -> str:
    other = os.environ.get(OTHER_DATABASE)
    return empty_database(other) if other else f"sqlite:///{tmp_path / 'db' / 'tickets.db'}"


@pytest.fixture
def store(url: str) -> Iterator[TicketStore]:
    store = TicketStore(url)
    store.create_schema()
    yield store
    store.close()


def open_tickets(url: str, conversations: list[str], minute: int = 10) -> None:
    """What a stream task does: apply a batch that opens these conversations' tickets."""
    settings = Settings()
    store = TicketStore(url)
    try:
        store.apply(
            [customer(c, c, minute) for c in conversations],
            load_routing(settings.routing_config),
            load_replies(settings.replies_config),
        )
    finally:
        store.close()


def numbers(store: TicketStore) -> dict[str, int]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(Ticket.conversation_id, Ticket.ticket_number))
        return {conversation: number for conversation, number in rows}


def test_tickets_are_numbered_in_the_order_they_are_opened(store: TicketStore, url: str) -> None:
    open_tickets(url, ["a", "b", "c"])
    open_tickets(url, ["d"])
    assert numbers(store) == {"a": 1, "b": 2, "c": 3, "d": 4}
    # a replayed batch opens nothing and uses up no number
    open_tickets(url, ["a", "b", "c"])
    assert numbers(store) == {"a": 1, "b": 2, "c": 3, "d": 4}
    reply = store.list_replies(ticket_id=ticket_id_for("d"))[0]
    assert "#4" in reply.text and "TC-" not in reply.text  # the public reply names the number


def test_numbers_go_on_after_a_restart(url: str) -> None:
    first = TicketStore(url)
    first.create_schema()
    first.close()
    open_tickets(url, ["a", "b"])
    again = TicketStore(url)  # a new process: the counter lives in the database
    again.create_schema()
    open_tickets(url, ["c"])
    assert numbers(again) == {"a": 1, "b": 2, "c": 3}
    again.close()


def test_concurrent_writers_never_share_a_number(store: TicketStore, url: str) -> None:
    """Separate processes (like the stream's executor tasks) open tickets at once."""
    context = multiprocessing.get_context("fork")
    writers = [
        context.Process(
            target=open_tickets,
            args=(url, [f"w{w}-{n}" for n in range(TICKETS_PER_WRITER)]),
        )
        for w in range(WRITERS)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=300)
    assert [w.exitcode for w in writers] == [0] * WRITERS
    given = sorted(numbers(store).values())
    total = WRITERS * TICKETS_PER_WRITER
    assert len(given) == total and len(set(given)) == total
    # on SQLite exactly 1..N; a Postgres sequence may skip a number a lost race drew
    if url.startswith("sqlite"):
        assert given == list(range(1, total + 1))


def test_a_ticket_is_found_by_its_number_or_a_unique_prefix(store: TicketStore, url: str) -> None:
    conversations = [str(n) for n in range(20)]  # 20 ids: two share their first hex digit
    open_tickets(url, conversations)
    ticket = store.get_ticket(ticket_id_for("7"))
    number = ticket.ticket_number
    assert number is not None
    for reference in (str(number), f"#{number}", f" # {number} ", ticket.ticket_id.lower()):
        assert store.get_ticket(reference).ticket_id == ticket.ticket_id
    ids = sorted(ticket_id_for(c) for c in conversations)
    unique = next(
        i[: n + 1]
        for n in range(4, 36)
        for i in ids
        if sum(other.startswith(i[: n + 1]) for other in ids) == 1
    )
    assert store.get_ticket(unique).ticket_id.startswith(unique)
    bare = unique.removeprefix("TC-")
    if not bare.isdigit():  # digits alone are read as a number
        assert store.get_ticket(bare.lower()).ticket_id.startswith(unique)
    shared = next(i[:4] for i in ids if sum(o.startswith(i[:4]) for o in ids) > 1)
    with pytest.raises(UserError, match=rf"{shared} matches several tickets \(#\d+, #\d+"):
        store.get_ticket(shared)
    for missing in ("#999", "0", "TC-NOPE", "TC-", "", "%", str(2**40)):
        with pytest.raises(UserError, match="no ticket"):
            store.get_ticket(missing)
    # an action finds it the same way
    closed = actions.close_ticket(store, f"#{number}", "ann")
    assert (closed.ticket_id, closed.status) == (ticket.ticket_id, "closed")


def test_the_cli_shows_and_takes_ticket_numbers(
    store: TicketStore, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWEETCARE_TICKETS_DB_URL", url)
    monkeypatch.setenv("COLUMNS", "200")
    open_tickets(url, ["a", "b"])
    listed = runner.invoke(app, ["tickets", "list"])
    assert listed.exit_code == 0 and "#1" in listed.output and "#2" in listed.output
    assert "TC-" not in listed.output  # the long id stays off the everyday table
    shown = runner.invoke(app, ["tickets", "show", "2"])
    assert shown.exit_code == 0, shown.output
    assert "ticket #2" in shown.output and ticket_id_for("b") in shown.output
    assert (
        "#2 closed by ann" in runner.invoke(app, ["tickets", "close", "#2", "--user", "ann"]).output
    )
    missing = runner.invoke(app, ["tickets", "show", "#3"])
    assert isinstance(missing.exception, UserError) and "no ticket #3" in str(missing.exception)
    helped = runner.invoke(app, ["tickets", "show", "--help"])
    assert "#10482" in helped.output and "TC-1A2B3C4D5E" not in helped.output


def test_the_sla_clock_runs_from_the_opening_not_from_an_old_tweet(store: TicketStore) -> None:
    """Replayed 2017 history: due an SLA after the stream opened it, not years overdue."""
    settings = Settings()
    routing = load_routing(settings.routing_config)
    before = datetime.now(UTC)
    store.apply([customer("old", "old", 10)], routing, load_replies(settings.replies_config))
    ticket = store.get_ticket(ticket_id_for("old"))
    opened = ticket.opened_at.replace(tzinfo=UTC)
    assert ticket.created_at.replace(tzinfo=UTC).year == 2017 and opened >= before
    window = timedelta(minutes=routing.sla_minutes[ticket.priority])
    assert ticket.sla_due_at.replace(tzinfo=UTC) == opened + window
    assert not ticket.sla_breached(opened + window - timedelta(seconds=1))
    assert ticket.sla_breached(opened + window + timedelta(seconds=1))


def test_the_migration_numbers_older_tickets_in_creation_order(url: str) -> None:
    """A store from before 0007: its tickets get numbers by created_at, an opening time (their
    batch's, else their tweet's), an SLA due time moved by as much; new tickets follow on."""
    engine = make_engine(url)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    batch_time = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0006_agent_versions_and_leases")
        connection.execute(
            text(
                "INSERT INTO stream_batches (batch_id, n_messages, n_valid, n_dead_lettered, "
                "n_inbound, n_outbound, n_tickets_opened, processed_at) "
                "VALUES ('s-1', 2, 2, 0, 2, 0, 2, :at)"
            ),
            {"at": batch_time},
        )
        for ticket_id, minute, batch in (
            ("TC-B", 20, "s-1"),
            ("TC-A", 30, None),
            ("TC-C", 5, "s-1"),
        ):
            created = datetime(2017, 10, 31, 22, minute, tzinfo=UTC)
            connection.execute(
                text(
                    "INSERT INTO tickets (ticket_id, conversation_id, customer_id, category, "
                    "team, priority, entities, status, text, first_tweet_id, tweet_count, "
                    "created_at, updated_at, sla_due_at, models, opened_in_batch, version) "
                    "VALUES (:id, :id, '1', 'billing', 'billing', 'normal', '[]', 'open', 't', "
                    ":id, 1, :created, :created, :due, '{}', :batch, 1)"
                ),
                {
                    "id": ticket_id,
                    "created": created,
                    "due": created + timedelta(hours=1),
                    "batch": batch,
                },
            )
    engine.dispose()

    upgrade_schema(url)

    store = TicketStore(url)
    migrated = {t.ticket_id: t for t in store.list_tickets(10)}
    assert {i: t.ticket_number for i, t in migrated.items()} == {"TC-C": 1, "TC-B": 2, "TC-A": 3}
    for ticket in migrated.values():
        opened = ticket.opened_at.replace(tzinfo=UTC)
        created = ticket.created_at.replace(tzinfo=UTC)
        assert opened == (created if ticket.ticket_id == "TC-A" else batch_time)
        assert ticket.sla_due_at.replace(tzinfo=UTC) == opened + timedelta(hours=1)
    open_tickets(url, ["new"])
    assert store.get_ticket(ticket_id_for("new")).ticket_number == 4
    assert store.get_ticket("#3").ticket_id == "TC-A"
    store.close()
    with engine.connect() as connection:  # upgraded to the newest revision, past 0007
        assert (
            connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == head()
        )
