"""Alembic's environment for the ticket store: the store's models are the target metadata, and
the connection comes from `upgrade_schema` (no alembic.ini, no URL in a file)."""

from __future__ import annotations

from alembic import context

from tweetcare.tickets.models import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: later revisions' op.batch_alter_table copies tables
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("the ticket store migrates online, through upgrade_schema(url)")
run_migrations_online()
