"""The ticket store, read through `TicketStore`: tickets and the stream's batch statistics."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from tweetcare.core.settings import Settings
from tweetcare.tickets.engine import sqlite_file
from tweetcare.tickets.models import StreamBatch
from tweetcare.tickets.store import TicketStore
from tweetcare.ui.backends.errors import FILL_TICKET_STORE, TICKET_STORE, BackendDown
from tweetcare.ui.config import CONFIG

_T = TypeVar("_T")


def open_store(settings: Settings) -> TicketStore:
    """The ticket store, or BackendDown when it does not exist yet (reading never creates it)."""
    url = settings.tickets_db_url
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise BackendDown(TICKET_STORE, url, "no database yet", FILL_TICKET_STORE)
    return TicketStore(url)


def with_store(settings: Settings, read: Callable[[TicketStore], _T]) -> _T:
    """Run `read` on the store; database errors become BackendDown with the store's URL."""
    store = open_store(settings)
    try:
        return read(store)
    except SQLAlchemyError as err:
        detail = str(err.orig if getattr(err, "orig", None) else err).splitlines()[0]
        raise BackendDown(TICKET_STORE, settings.tickets_db_url, detail, FILL_TICKET_STORE) from err
    finally:
        store.close()


def read_tickets(settings: Settings, limit: int = CONFIG.max_tickets) -> list[dict[str, Any]]:
    """Tickets as JSON-ready dicts (whatever fields the ticket model has), newest first."""
    return with_store(settings, lambda s: [t.to_dict() for t in s.list_tickets(limit=limit)])


def read_batches(settings: Settings, since: datetime) -> list[dict[str, Any]]:
    """The stream's per-micro-batch statistics processed after `since`."""

    def read(store: TicketStore) -> list[dict[str, Any]]:
        if not inspect(store.engine).has_table(StreamBatch.__tablename__):
            return []
        with Session(store.engine) as session:
            query = select(StreamBatch).where(StreamBatch.processed_at >= since)
            batches = session.scalars(query.order_by(StreamBatch.processed_at))
            return [
                {column.key: getattr(b, column.key) for column in StreamBatch.__table__.columns}
                for b in batches
            ]

    return with_store(settings, read)
