"""incidents: escalation incidents the monitor records, and the one that raised a ticket

Revision ID: 0003_incidents
Revises: 0002_reply_outbox
Create Date: 2026-12-01 13:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_incidents"
down_revision: str | None = "0002_reply_outbox"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("scope_key", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("brand", sa.String(length=64), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("conversation_id", sa.String(length=64), nullable=True),
        sa.Column("alert_id", sa.String(length=64), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope_key"),
    )
    with op.batch_alter_table("incidents") as batch_op:
        batch_op.create_index(batch_op.f("ix_incidents_expires_at"), ["expires_at"], unique=False)
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.add_column(sa.Column("incident_alert_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_column("incident_alert_id")
    with op.batch_alter_table("incidents") as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_expires_at"))
    op.drop_table("incidents")
