"""stream v2: full-length ticket ids and the reply outbox's state

Revision ID: 0002_reply_outbox
Revises: 0001_baseline
Create Date: 2026-11-30 14:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002_reply_outbox"
down_revision: str | None = "0001_baseline"
branch_labels: str | None = None
depends_on: str | None = None

# ticket and reply ids grew from a 40-bit hash to a full uuid5
ID_COLUMNS = {
    "replies": ("reply_id", "ticket_id"),
    "ticket_responses": ("ticket_id",),
    "ticket_tweets": ("ticket_id",),
    "tickets": ("ticket_id",),
}


def upgrade() -> None:
    with op.batch_alter_table("replies") as batch_op:
        batch_op.add_column(
            sa.Column("state", sa.String(length=16), nullable=False, server_default="drafted")
        )
        batch_op.create_index(batch_op.f("ix_replies_state"), ["state"], unique=False)
    # what the old columns already say: posted, rejected, or approved (auto or by a person)
    op.execute(
        "UPDATE replies SET state = CASE "
        "WHEN posted_at IS NOT NULL THEN 'posted' "
        "WHEN decision = 'rejected' THEN 'rejected' "
        "WHEN decision IN ('auto', 'approved') THEN 'approved' "
        "ELSE 'drafted' END"
    )
    for table, columns in ID_COLUMNS.items():
        with op.batch_alter_table(table) as batch_op:
            for column in columns:
                batch_op.alter_column(
                    column,
                    existing_type=sa.String(length=32),
                    type_=sa.String(length=64),
                    existing_nullable=False,
                )


def downgrade() -> None:
    for table, columns in ID_COLUMNS.items():
        with op.batch_alter_table(table) as batch_op:
            for column in columns:
                batch_op.alter_column(
                    column,
                    existing_type=sa.String(length=64),
                    type_=sa.String(length=32),
                    existing_nullable=False,
                )
    with op.batch_alter_table("replies") as batch_op:
        batch_op.drop_index(batch_op.f("ix_replies_state"))
        batch_op.drop_column("state")
