"""Start and stop `bentoml serve` as a pid-file managed process.

Shared by the CLI, the batching benchmark and the test fixtures so all three run the server the
same way: the venv's own `bentoml`, settings passed through `TWEETCARE_*` variables.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import httpx

from tweetcare.core.settings import Settings
from tweetcare.process import Service

SERVICE_NAME = "bentoml"
SERVICE_TARGET = "serving.service:TweetClassifier"
# loading MLflow and the model in two worker processes takes a while on a busy 2-core machine
READY_TIMEOUT_S = 120.0
REPO_ROOT = Path(__file__).resolve().parents[1]


def server(settings: Settings) -> Service:
    return Service(SERVICE_NAME, settings.state_dir)


def is_ready(settings: Settings) -> bool:
    try:
        return httpx.get(f"{settings.bento_url}/readyz", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def prepare_registry(tracking_uri: str) -> None:
    """Create or migrate the registry's schema here, once, before the server starts.

    The server's services open the registry at the same moment; on a database that does not
    exist yet they would race to run MLflow's migrations and one would crash on the other's
    half-made tables, hiding the clear "no model registered" message.
    """
    from mlflow.tracking import MlflowClient

    MlflowClient(tracking_uri=tracking_uri).search_registered_models(max_results=1)


def start_server(
    settings: Settings,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = READY_TIMEOUT_S,
) -> None:
    """Start `bentoml serve` unless it already runs, and wait until /readyz answers.

    Raises ServiceError (with the log tail) if the server exits or is not ready in time, e.g.
    when no model holds the champion alias yet.
    """
    bentoml = str(Path(sys.executable).with_name("bentoml"))
    command = [bentoml, "serve", SERVICE_TARGET]
    command += ["--host", settings.bento_host, "--port", str(settings.bento_port)]
    # every setting travels, so the server agrees with its parent on registry, names, limits
    env = {**settings.to_env(), **(extra_env or {})}
    service = server(settings)
    if not service.is_running():
        prepare_registry(settings.mlflow_tracking_uri)
    service.start(command, env=env, cwd=REPO_ROOT)
    service.wait_until(lambda: is_ready(settings), timeout, "ready")


def stop_server(settings: Settings) -> bool:
    """Stop the server; True if one was running."""
    return server(settings).stop()
