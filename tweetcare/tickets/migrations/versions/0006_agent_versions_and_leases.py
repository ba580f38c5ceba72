"""agent versions and post leases: compare-and-set for agents, leases and refusals for posting

Tickets and replies get a `version` that every change bumps, so an agent's action on a row that
moved since they loaded it is refused instead of overwriting a colleague's (or the stream's)
change. Replies get the lease of the post run that holds them in `posting` (run id and expiry)
and the reason X gave when it refused one (state `refused`).

Revision ID: 0006_agent_versions_and_leases
Revises: 0005_queue_labels
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006_agent_versions_and_leases"
down_revision: str | None = "0005_queue_labels"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("replies") as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("refusal", sa.Text(), nullable=True))


def downgrade() -> None:
    # the older outbox has no `refused`: such a reply waits for a person as a drafted one
    op.execute("UPDATE replies SET state = 'drafted', decision = 'pending' WHERE state = 'refused'")
    with op.batch_alter_table("replies") as batch_op:
        batch_op.drop_column("refusal")
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("lease_owner")
        batch_op.drop_column("version")
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_column("version")
