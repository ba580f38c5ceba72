"""One probe per backend for the sidebar: up or down, and how to start the ones that are down."""

from __future__ import annotations

from dataclasses import dataclass

from tweetcare.core.contract import ANALYZE_UNAVAILABLE_KEY
from tweetcare.core.redact import redact_url
from tweetcare.core.settings import Settings
from tweetcare.ui.backends.errors import (
    FILL_LAKE,
    LAKE,
    MLFLOW,
    MODEL_SERVER,
    TICKET_STORE,
    BackendDown,
)
from tweetcare.ui.backends.lake import lake_status
from tweetcare.ui.backends.model_server import model_info
from tweetcare.ui.backends.registry import require_tracking_store
from tweetcare.ui.backends.store import with_store


@dataclass(frozen=True)
class BackendStatus:
    backend: str
    where: str
    up: bool
    detail: str
    hint: str


def backend_statuses(settings: Settings) -> list[BackendStatus]:
    """A quick probe of every backend, for the sidebar: up or down, and how to start it (every
    URL without its password: agents see the sidebar)."""
    statuses = []
    try:
        info = model_info(settings)
        detail = f"serving {info.get('name')} v{info.get('version')} (@{info.get('alias')})"
        if info.get(ANALYZE_UNAVAILABLE_KEY):
            detail += f"; /analyze unavailable: {info[ANALYZE_UNAVAILABLE_KEY]}"
        statuses.append(BackendStatus(MODEL_SERVER, settings.bento_url, True, detail, ""))
    except BackendDown as err:
        statuses.append(_down(err))
    try:
        counts = with_store(settings, lambda s: s.counts())
        detail = f"{counts['tickets']} tickets"
        where = redact_url(settings.tickets_db_url)
        statuses.append(BackendStatus(TICKET_STORE, where, True, detail, ""))
    except BackendDown as err:
        statuses.append(_down(err))
    where, lake_up, detail = lake_status(settings)
    statuses.append(BackendStatus(LAKE, where, lake_up, detail, FILL_LAKE))
    try:
        require_tracking_store(settings.mlflow_tracking_uri)
        statuses.append(
            BackendStatus(MLFLOW, redact_url(settings.mlflow_tracking_uri), True, "", "")
        )
    except BackendDown as err:
        statuses.append(_down(err))
    return statuses


def _down(err: BackendDown) -> BackendStatus:
    return BackendStatus(err.backend, err.where, False, err.detail, err.hint)
