"""Start and stop `bentoml serve` as a pid-file managed process.

Shared by the CLI, the batching benchmark and the test fixtures so all three run the server the
same way: the venv's own `bentoml`, settings passed through `TWEETCARE_*` variables.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import httpx

from tweetcare.core.redact import redact_url
from tweetcare.core.settings import Settings
from tweetcare.process import Service, ServiceError

SERVICE_NAME = "bentoml"
SERVICE_TARGET = "serving.service:TweetClassifier"
# loading MLflow and the model in two worker processes takes a while on a busy 2-core machine
READY_TIMEOUT_S = 120.0
REPO_ROOT = Path(__file__).resolve().parents[1]
# what MLflow answers for a registered model, or an alias, that does not exist
MISSING_CODES = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")


def server(settings: Settings) -> Service:
    return Service(SERVICE_NAME, settings.state_dir)


def is_ready(settings: Settings) -> bool:
    try:
        return httpx.get(f"{settings.bento_url}/readyz", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def prepare_registry(settings: Settings) -> None:
    """Create or migrate the registry's schema here, once, and check that the model to serve
    exists, before the server starts.

    The server's services open the registry at the same moment; on a database that does not
    exist yet they would race to run MLflow's migrations and one would crash on the other's
    half-made tables, hiding the clear "no model registered" message. And a server without its
    model never becomes ready: BentoML restarts the failing worker until the start times out,
    so the missing model is reported here, at once, with the server's own words.
    """
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    uri, name, alias = settings.mlflow_tracking_uri, settings.inbound_model, settings.model_alias
    client = MlflowClient(tracking_uri=uri)  # the registry: MLFLOW_REGISTRY_URI, else this
    client.search_registered_models(max_results=1)
    try:
        client.get_model_version_by_alias(name, alias)
    except MlflowException as err:
        if err.error_code not in MISSING_CODES:
            return  # e.g. a tracking server that is slow to answer: the server's start says more
        raise ServiceError(not_registered(name, alias, uri)) from None


def not_registered(name: str, alias: str, tracking_uri: str) -> str:
    """The one line a server without its model says, here and in the server's own log."""
    return f"no model registered as {name}@{alias} in {redact_url(tracking_uri)}: run dvc repro"


def start_server(
    settings: Settings,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = READY_TIMEOUT_S,
    root: Path = REPO_ROOT,
) -> None:
    """Start `bentoml serve` unless it already runs, and wait until /readyz answers.

    Raises ServiceError (with the log tail) if the server exits or is not ready in time, e.g.
    when no model holds the champion alias yet; a server it started is stopped then. ``root`` is
    the folder the service is imported from (a benchmark starts an older `serving/` from
    elsewhere).
    """
    bentoml = str(Path(sys.executable).with_name("bentoml"))
    command = [bentoml, "serve", SERVICE_TARGET]
    command += ["--host", settings.bento_host, "--port", str(settings.bento_port)]
    # every setting travels, so the server agrees with its parent on registry, names, limits
    env = {**settings.to_env(), **(extra_env or {})}
    service = server(settings)
    ours = not service.is_running()
    if ours:
        prepare_registry(settings)
    service.start(command, env=env, cwd=root)
    try:
        service.wait_until(lambda: is_ready(settings), timeout, "ready")
    except ServiceError:
        # a worker that cannot load its model is restarted by BentoML for ever: a server that
        # never got ready is stopped, not left behind loading models on every core
        if ours:
            service.stop()
        raise


def stop_server(settings: Settings) -> bool:
    """Stop the server; True if one was running."""
    return server(settings).stop()
