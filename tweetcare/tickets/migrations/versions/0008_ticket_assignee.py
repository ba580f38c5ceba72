"""ticket assignee: the agent a ticket is given to (`tweetcare tickets assign`)

A plain added column (SQLite's ALTER TABLE ADD COLUMN), so the tickets table is not copied and
0007's numbering trigger stays in place.

Revision ID: 0008_ticket_assignee
Revises: 0007_ticket_numbers_opened_at
Create Date: 2026-12-07 23:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008_ticket_assignee"
down_revision: str | None = "0007_ticket_numbers_opened_at"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("tickets", sa.Column("assignee", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets", recreate="never") as batch_op:
        batch_op.drop_column("assignee")
