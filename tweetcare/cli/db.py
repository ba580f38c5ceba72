"""`tweetcare db migrate|revision`: the ticket store's schema (Alembic), without `python -m`."""

from __future__ import annotations

from typing import Annotated

import typer

from tweetcare.cli.json_output import print_document
from tweetcare.core.errors import UsageError, UserError
from tweetcare.core.redact import redact
from tweetcare.core.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="The ticket store's schema: migrate it.")


@app.command("migrate")
def migrate(
    url: Annotated[
        str | None,
        typer.Option(help="the store's SQLAlchemy URL (default: TWEETCARE_TICKETS_DB_URL)"),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="the revisions before and after as one JSON object")
    ] = False,
) -> None:
    """Create the ticket store's schema, or migrate it to the latest revision (safe to rerun;
    concurrent runs on one Postgres database take turns)."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

    from tweetcare.tickets.engine import sqlite_file
    from tweetcare.tickets.migrations import head, schema_revision, upgrade_schema

    target = url or get_settings().tickets_db_url
    try:
        path = sqlite_file(target)
        if path is not None:  # a new store in a new folder (the demo's, --state-dir's)
            path.parent.mkdir(parents=True, exist_ok=True)
        before = schema_revision(target)
        upgrade_schema(target)
    except (ArgumentError, NoSuchModuleError) as err:
        raise UsageError(f"{target} is not a database URL SQLAlchemy knows: {err}") from err
    except OperationalError as err:
        raise UserError(f"cannot reach the ticket store at {target}: {err.orig}") from err
    after = head()
    if as_json:
        print_document({"url": redact(target), "before": before, "after": after})
        return
    change = "already at" if before == after else f"{before or 'empty'} ->"
    typer.echo(f"ticket store at {redact(target)}: {change} {after}")


@app.command("revision")
def revision(
    message: Annotated[str, typer.Argument(help="what changed, e.g. 'tickets: add due_at'")],
) -> None:
    """For developers: autogenerate a migration from a change to tweetcare/tickets/models.py
    into tweetcare/tickets/migrations/versions/ (read it before committing)."""
    from tweetcare.tickets.migrations import make_revision

    make_revision(message)
