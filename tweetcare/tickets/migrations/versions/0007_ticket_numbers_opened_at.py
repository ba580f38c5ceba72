"""ticket numbers and opened_at: short public numbers, the SLA clock from the ticket's opening

Tickets get `ticket_number`, the short number replies, the console and the CLI show (`#10482`;
the 35-character id stays internal). The database gives it on insert, so it is sequential per
store and unique whoever writes at once: a sequence on Postgres (the column's default), and on
SQLite a trigger that takes the next number after the inserting transaction's own write lock.
Existing tickets are numbered in the order they were created.

Tickets also get `opened_at`, when the stream opened them, and the SLA clock runs from it:
replayed history keeps its tweets' 2017 `created_at` without being overdue by years. An existing
ticket was opened when the batch that opened it was recorded (else at its `created_at`); its
SLA due time moves by as much.

SQLite drops a table's triggers when `batch_alter_table` copies it: a later revision that alters
`tickets` that way creates `SQLITE_NUMBER_TRIGGER` again (`create_number_trigger`).

Revision ID: 0007_ticket_numbers_opened_at
Revises: 0006_agent_versions_and_leases
Create Date: 2026-12-08 09:00:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0007_ticket_numbers_opened_at"
down_revision: str | None = "0006_agent_versions_and_leases"
branch_labels: str | None = None
depends_on: str | None = None

PG_NUMBER_SEQUENCE = "tickets_ticket_number_seq"
SQLITE_NUMBER_TRIGGER = "tickets_ticket_number"
NUMBER_CONSTRAINT = "uq_tickets_ticket_number"


def create_number_trigger() -> None:
    """SQLite: each inserted ticket without a number gets the next one. Writers take SQLite's
    write lock in turn, so two never read the same maximum (the unique constraint stands
    behind it); the maximum is one index lookup."""
    op.execute(
        f"""
        CREATE TRIGGER IF NOT EXISTS {SQLITE_NUMBER_TRIGGER}
        AFTER INSERT ON tickets FOR EACH ROW WHEN NEW.ticket_number IS NULL
        BEGIN
            UPDATE tickets
            SET ticket_number = (SELECT coalesce(max(ticket_number), 0) + 1 FROM tickets)
            WHERE ticket_id = NEW.ticket_id;
        END
        """
    )


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.add_column(sa.Column("ticket_number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True))
    _backfill(op.get_bind())
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.alter_column("opened_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.create_unique_constraint(NUMBER_CONSTRAINT, ["ticket_number"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE SEQUENCE {PG_NUMBER_SEQUENCE} OWNED BY tickets.ticket_number")
        op.execute(
            f"SELECT setval('{PG_NUMBER_SEQUENCE}', "
            "coalesce((SELECT max(ticket_number) FROM tickets), 0) + 1, false)"
        )
        op.execute(
            "ALTER TABLE tickets ALTER COLUMN ticket_number "
            f"SET DEFAULT nextval('{PG_NUMBER_SEQUENCE}')"
        )
    elif op.get_bind().dialect.name == "sqlite":
        create_number_trigger()


def _backfill(conn: sa.Connection) -> None:
    """Number the existing tickets in creation order; opened when their batch was recorded."""
    tickets = sa.table(
        "tickets",
        sa.column("ticket_id", sa.String()),
        sa.column("ticket_number", sa.Integer()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("opened_at", sa.DateTime(timezone=True)),
        sa.column("sla_due_at", sa.DateTime(timezone=True)),
        sa.column("opened_in_batch", sa.String()),
    )
    batches = sa.table(
        "stream_batches",
        sa.column("batch_id", sa.String()),
        sa.column("processed_at", sa.DateTime(timezone=True)),
    )
    query = (
        sa.select(
            tickets.c.ticket_id, tickets.c.created_at, tickets.c.sla_due_at, batches.c.processed_at
        )
        .select_from(tickets.outerjoin(batches, batches.c.batch_id == tickets.c.opened_in_batch))
        .order_by(tickets.c.created_at, tickets.c.ticket_id)
    )
    rows = [
        {
            "b_ticket_id": ticket_id,
            "b_ticket_number": number,
            "b_opened_at": opened,
            "b_sla_due_at": _utc(due) + (opened - _utc(created)),
        }
        for number, (ticket_id, created, due, processed) in enumerate(conn.execute(query), 1)
        for opened in [_utc(processed or created)]
    ]
    if rows:
        conn.execute(
            sa.update(tickets)
            .where(tickets.c.ticket_id == sa.bindparam("b_ticket_id"))
            .values(
                ticket_number=sa.bindparam("b_ticket_number"),
                opened_at=sa.bindparam("b_opened_at"),
                sla_due_at=sa.bindparam("b_sla_due_at"),
            ),
            rows,
        )


def _due_from_created(conn: sa.Connection) -> None:
    """Downgrading: the SLA clock goes back to the tweets' own time."""
    tickets = sa.table(
        "tickets",
        sa.column("ticket_id", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("opened_at", sa.DateTime(timezone=True)),
        sa.column("sla_due_at", sa.DateTime(timezone=True)),
    )
    query = sa.select(
        tickets.c.ticket_id, tickets.c.created_at, tickets.c.opened_at, tickets.c.sla_due_at
    )
    rows = [
        {"b_ticket_id": ticket_id, "b_sla_due_at": _utc(due) - (_utc(opened) - _utc(created))}
        for ticket_id, created, opened, due in conn.execute(query)
    ]
    if rows:
        conn.execute(
            sa.update(tickets)
            .where(tickets.c.ticket_id == sa.bindparam("b_ticket_id"))
            .values(sla_due_at=sa.bindparam("b_sla_due_at")),
            rows,
        )


def _utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {SQLITE_NUMBER_TRIGGER}")
    _due_from_created(op.get_bind())
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_constraint(NUMBER_CONSTRAINT, type_="unique")
        batch_op.drop_column("opened_at")
        batch_op.drop_column("ticket_number")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP SEQUENCE IF EXISTS {PG_NUMBER_SEQUENCE}")
