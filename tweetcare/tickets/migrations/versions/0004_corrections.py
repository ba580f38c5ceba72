"""corrections: agents' fixes of the models' answers on tickets, for training

Revision ID: 0004_corrections
Revises: 0003_incidents
Create Date: 2026-12-01 14:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004_corrections"
down_revision: str | None = "0003_incidents"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "corrections",
        sa.Column("correction_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.String(length=64), nullable=False),
        sa.Column("tweet_id", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=16), nullable=False),
        sa.Column("before", sa.String(length=64), nullable=True),
        sa.Column("after", sa.String(length=64), nullable=False),
        sa.Column("agent", sa.String(length=128), nullable=False),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.ticket_id"]),
        sa.PrimaryKeyConstraint("correction_id"),
    )
    with op.batch_alter_table("corrections") as batch_op:
        batch_op.create_index(batch_op.f("ix_corrections_ticket_id"), ["ticket_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_corrections_tweet_id"), ["tweet_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("corrections") as batch_op:
        batch_op.drop_index(batch_op.f("ix_corrections_tweet_id"))
        batch_op.drop_index(batch_op.f("ix_corrections_ticket_id"))
    op.drop_table("corrections")
