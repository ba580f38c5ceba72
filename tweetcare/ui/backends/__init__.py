"""The console's reads and calls: the model server, the ticket store, the lake and MLflow.

Every function here either returns plain records (dicts, frames, dataclasses from
`tweetcare.ui.data`) or raises `BackendDown` naming the backend, where it was looked for and the
command that starts it, so a page can say exactly that instead of showing a traceback.
"""

from tweetcare.core.contract import DECISION_TAG, PARENT_RUN_TAG, REASON_TAG, WINNER_TAG
from tweetcare.core.contract import INBOUND_EXPERIMENT as EXPERIMENT
from tweetcare.ui.backends.errors import (
    FILL_LAKE,
    FILL_MLFLOW,
    FILL_MONITORING,
    FILL_TICKET_STORE,
    KAFKA,
    LAKE,
    MLFLOW,
    MODEL_SERVER,
    START_KAFKA,
    START_MODEL_SERVER,
    TICKET_STORE,
    BackendDown,
)
from tweetcare.ui.backends.lake import lake_status, read_lake, read_thread, tweets_table
from tweetcare.ui.backends.model_server import Answer, analyze, model_info
from tweetcare.ui.backends.monitoring import (
    active_incidents,
    incident_raise_levels,
    monitoring_table,
    read_alert_messages,
    read_incidents,
    read_monitoring,
)
from tweetcare.ui.backends.registry import (
    ModelsSnapshot,
    latest_training_run,
    read_models,
)
from tweetcare.ui.backends.shadow import shadow_record
from tweetcare.ui.backends.status import BackendStatus, backend_statuses
from tweetcare.ui.backends.store import open_store, read_batches, read_tickets, with_store

__all__ = [
    "DECISION_TAG",
    "EXPERIMENT",
    "FILL_LAKE",
    "FILL_MLFLOW",
    "FILL_MONITORING",
    "FILL_TICKET_STORE",
    "KAFKA",
    "LAKE",
    "MLFLOW",
    "MODEL_SERVER",
    "PARENT_RUN_TAG",
    "REASON_TAG",
    "START_KAFKA",
    "START_MODEL_SERVER",
    "TICKET_STORE",
    "WINNER_TAG",
    "Answer",
    "BackendDown",
    "BackendStatus",
    "ModelsSnapshot",
    "active_incidents",
    "analyze",
    "backend_statuses",
    "incident_raise_levels",
    "lake_status",
    "latest_training_run",
    "model_info",
    "monitoring_table",
    "open_store",
    "read_alert_messages",
    "read_batches",
    "read_incidents",
    "read_lake",
    "read_models",
    "read_monitoring",
    "read_thread",
    "read_tickets",
    "shadow_record",
    "tweets_table",
    "with_store",
]
