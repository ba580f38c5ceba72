"""baseline: the ticket store's schema before migrations

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-30 12:53:30.415252
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001_baseline"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "stream_batches",
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("n_messages", sa.Integer(), nullable=False),
        sa.Column("n_valid", sa.Integer(), nullable=False),
        sa.Column("n_dead_lettered", sa.Integer(), nullable=False),
        sa.Column("n_inbound", sa.Integer(), nullable=False),
        sa.Column("n_outbound", sa.Integer(), nullable=False),
        sa.Column("n_tickets_opened", sa.Integer(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("batch_id"),
    )
    op.create_table(
        "tickets",
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("brand", sa.String(length=64), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("category_confidence", sa.Float(), nullable=True),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("sentiment", sa.String(length=16), nullable=True),
        sa.Column("sentiment_score", sa.Float(), nullable=True),
        sa.Column("entities", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("first_tweet_id", sa.String(length=64), nullable=False),
        sa.Column("tweet_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sla_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_seconds", sa.Float(), nullable=True),
        sa.Column("first_response_tweet_id", sa.String(length=64), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("data_version", sa.String(length=64), nullable=True),
        sa.Column("opened_in_batch", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("ticket_id"),
        sa.UniqueConstraint("conversation_id"),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tickets_brand"), ["brand"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_category"), ["category"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_tickets_opened_in_batch"), ["opened_in_batch"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_tickets_priority"), ["priority"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_team"), ["team"], unique=False)

    op.create_table(
        "replies",
        sa.Column("reply_id", sa.String(length=32), nullable=False),
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("in_reply_to_tweet_id", sa.String(length=64), nullable=False),
        sa.Column("brand", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("gate_reasons", sa.JSON(), nullable=False),
        sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("posted_tweet_id", sa.String(length=64), nullable=True),
        sa.Column("drafted_in_batch", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.ticket_id"],
        ),
        sa.PrimaryKeyConstraint("reply_id"),
        sa.UniqueConstraint("ticket_id"),
    )
    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_replies_decision"), ["decision"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_replies_drafted_in_batch"), ["drafted_in_batch"], unique=False
        )

    op.create_table(
        "ticket_responses",
        sa.Column("tweet_id", sa.String(length=64), nullable=False),
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.ticket_id"],
        ),
        sa.PrimaryKeyConstraint("tweet_id"),
    )
    with op.batch_alter_table("ticket_responses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_responses_ticket_id"), ["ticket_id"], unique=False
        )

    op.create_table(
        "ticket_tweets",
        sa.Column("tweet_id", sa.String(length=64), nullable=False),
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.ticket_id"],
        ),
        sa.PrimaryKeyConstraint("tweet_id"),
    )
    with op.batch_alter_table("ticket_tweets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_tweets_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket_tweets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_tweets_ticket_id"))

    op.drop_table("ticket_tweets")
    with op.batch_alter_table("ticket_responses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_responses_ticket_id"))

    op.drop_table("ticket_responses")
    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_replies_drafted_in_batch"))
        batch_op.drop_index(batch_op.f("ix_replies_decision"))

    op.drop_table("replies")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_team"))
        batch_op.drop_index(batch_op.f("ix_tickets_status"))
        batch_op.drop_index(batch_op.f("ix_tickets_priority"))
        batch_op.drop_index(batch_op.f("ix_tickets_opened_in_batch"))
        batch_op.drop_index(batch_op.f("ix_tickets_category"))
        batch_op.drop_index(batch_op.f("ix_tickets_brand"))

    op.drop_table("tickets")
    op.drop_table("stream_batches")
