"""`tweetcare serve start|stop|status`: the BentoML model server as a managed background process."""

from __future__ import annotations

import json
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from serving.launcher import is_ready, server
from serving.launcher import start_server as _start
from serving.launcher import stop_server as _stop
from tweetcare.core.settings import Settings, get_settings

app = typer.Typer(no_args_is_help=True, help="Run the BentoML model server in the background.")
console = Console()


def start_server(settings: Settings) -> None:
    """Run `bentoml serve serving.service:TweetClassifier` in the background until /readyz answers.

    Idempotent; raises ServiceError with the log tail when the server dies or is not ready.
    """
    _start(settings)


def stop_server(settings: Settings) -> bool:
    """Stop the server; True if one was running."""
    return _stop(settings)


@app.command("start")
def start() -> None:
    """Start the model server (loads the registry's champion) and wait until it is ready."""
    settings = get_settings()
    start_server(settings)
    console.print(f"model server ready at {settings.bento_url}")


@app.command("stop")
def stop() -> None:
    """Stop the model server."""
    stopped = stop_server(get_settings())
    console.print("model server stopped" if stopped else "model server was not running")


@app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Say whether the model server runs, answers, and which model it serves (exit 1 if not)."""
    settings = get_settings()
    pid = server(settings).pid()
    ready = pid is not None and is_ready(settings)
    model = model_info(settings) if ready else None
    if as_json:
        record = {"running": pid is not None, "pid": pid, "ready": ready, "url": settings.bento_url}
        print(json.dumps({**record, "model": model}))
    elif pid is None:
        console.print("model server: not running")
    elif not ready:
        console.print(f"model server: pid {pid}, not ready at {settings.bento_url}")
    elif model is None:
        console.print(f"model server: pid {pid}, ready at {settings.bento_url}, no /model_info")
    else:
        console.print(
            f"model server: pid {pid}, ready at {settings.bento_url}, serving "
            f"{model['name']} v{model['version']} (@{model['alias']}, run {model['run_id']})"
        )
    if not ready:
        raise typer.Exit(1)


def model_info(settings: Settings) -> dict[str, Any] | None:
    """What /model_info says, or None when it does not answer."""
    try:
        return httpx.post(f"{settings.bento_url}/model_info", timeout=5.0).json()
    except (httpx.HTTPError, ValueError):
        return None
