"""What `tweetcare monitor run` leaves behind: the lake's `monitoring` table, the ticket store's
escalation incidents, and (on request only) the `alerts` topic.

The table and the incidents are read without a broker, so the Monitoring page and the incident
banner work with Kafka stopped; the topic is read only when an agent asks for it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
from deltalake.exceptions import DeltaError
from sqlalchemy import inspect, select
from sqlalchemy.exc import SQLAlchemyError

from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.core.storage import lake_table_uri, open_table
from tweetcare.monitoring.lake import MONITORING
from tweetcare.tickets.models import IncidentRecord, utc
from tweetcare.tickets.routing import load_routing
from tweetcare.tickets.store import TicketStore
from tweetcare.ui.backends.errors import (
    FILL_LAKE,
    KAFKA,
    LAKE,
    START_KAFKA,
    BackendDown,
)
from tweetcare.ui.backends.store import open_store, with_store

# the incidents columns the console shows (the scope key is the store's own)
INCIDENT_COLUMNS = (
    "kind",
    "brand",
    "category",
    "conversation_id",
    "alert_id",
    "first_seen",
    "last_seen",
    "expires_at",
)


def monitoring_table(settings: Settings) -> str:
    """Where the monitor's figures live (a URI or an absolute path)."""
    return lake_table_uri(settings, MONITORING)


def read_monitoring(settings: Settings) -> pd.DataFrame:
    """Every figure the monitor recorded (one row per figure per run); an empty frame before
    its first run, BackendDown when the table cannot be read."""
    try:
        table = open_table(settings, MONITORING)
        if table is None:
            return pd.DataFrame()
        return table.to_pandas()
    except (OSError, DeltaError) as err:
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise BackendDown(LAKE, monitoring_table(settings), detail, FILL_LAKE) from err


def read_incidents(settings: Settings, limit: int = 50) -> list[dict[str, Any]]:
    """The most recently seen escalation incidents, active or expired (none before the monitor
    has recorded one)."""

    def read(store: TicketStore) -> list[dict[str, Any]]:
        if not inspect(store.engine).has_table(IncidentRecord.__tablename__):
            return []
        table = IncidentRecord.__table__
        query = select(*(table.c[c] for c in INCIDENT_COLUMNS))
        query = query.order_by(table.c.last_seen.desc(), table.c.scope_key).limit(limit)
        with store.engine.connect() as conn:
            return [_incident(row) for row in conn.execute(query).mappings()]

    return with_store(settings, read)


def active_incidents(settings: Settings, now: datetime | None = None) -> list[dict[str, Any]]:
    """The incidents active at `now`, for the banner every page shows: one SELECT, and nothing
    (never an error) when the store is missing, down, or older than the incidents table."""
    when = utc(now or datetime.now(UTC))
    table = IncidentRecord.__table__
    query = select(*(table.c[c] for c in INCIDENT_COLUMNS)).where(table.c.expires_at > when)
    store = None
    try:
        store = open_store(settings)
        with store.engine.connect() as conn:
            rows = conn.execute(query.order_by(table.c.last_seen.desc())).mappings()
            return [_incident(row) for row in rows]
    except (BackendDown, SQLAlchemyError):
        return []
    finally:
        if store is not None:
            store.close()


def incident_raise_levels(settings: Settings) -> int | None:
    """routing.yaml's `priority.incident_raise` (how many levels an incident raises a ticket);
    None when the file cannot be read."""
    try:
        return load_routing(settings.routing_config).priority.incident_raise
    except (UserError, OSError):
        return None


def read_alert_messages(settings: Settings, limit: int = 20) -> list[dict[str, Any]]:
    """The latest messages on the `alerts` topic, newest first; BackendDown at once when no
    broker answers (the console never waits for Kafka unless asked)."""
    from kafka.errors import KafkaError  # kafka-python: loaded only when asked

    from tweetcare.monitoring.alerts import read_alerts

    try:
        messages = read_alerts(settings, limit=limit, wait_ms=1500)
    except (UserError, KafkaError) as err:
        raise BackendDown(
            KAFKA, settings.kafka_bootstrap, "no broker answers there", START_KAFKA
        ) from err
    return list(reversed(messages))


def _incident(row: Any) -> dict[str, Any]:
    return {
        column: utc(value) if isinstance(value, datetime) else value
        for column, value in dict(row).items()
    }
