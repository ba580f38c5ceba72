"""The registered models, loaded once from the session's tiny registry (tests.fixtures.analysis)."""

from __future__ import annotations

from typing import Any

import mlflow
import pytest

from tweetcare.core.models import model_contract


@pytest.fixture(scope="session")
def models(tiny_registry: str) -> dict[str, Any]:
    """role -> the `@champion` pyfunc of each registered model, as the server loads it."""
    mlflow.set_tracking_uri(tiny_registry)
    try:
        contract = model_contract()
        return {
            role: mlflow.pyfunc.load_model(contract.role(role).uri)
            for role in ("inbound", "sentiment", "category", "entities")
        }
    finally:
        mlflow.set_tracking_uri(None)
