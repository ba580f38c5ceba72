"""queue labels: agents' labels from the console's Label queue join the corrections table

A queue label is kept like a ticket correction (one row per answer, with the agent and the time)
but its tweet may have opened no ticket: `ticket_id` may be empty, `source` says where a row came
from (`ticket` or `queue`), and a queue label keeps the tweet's conversation and masked text.

Revision ID: 0005_queue_labels
Revises: 0004_corrections
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005_queue_labels"
down_revision: str | None = "0004_corrections"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("corrections") as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=16), nullable=False, server_default="ticket")
        )
        batch_op.add_column(sa.Column("conversation_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("text", sa.Text(), nullable=True))
        batch_op.alter_column("ticket_id", existing_type=sa.String(length=64), nullable=True)


def downgrade() -> None:
    # queue labels of tweets without a ticket have no place in the older table
    op.execute("DELETE FROM corrections WHERE ticket_id IS NULL")
    with op.batch_alter_table("corrections") as batch_op:
        batch_op.alter_column("ticket_id", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column("text")
        batch_op.drop_column("conversation_id")
        batch_op.drop_column("source")
