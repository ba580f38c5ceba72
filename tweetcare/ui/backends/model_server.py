"""The model server over HTTP: /analyze (falling back to /classify) and /model_info."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tweetcare.core.contract import ANALYZE_UNAVAILABLE_KEY
from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.ui.backends.errors import MODEL_SERVER, START_MODEL_SERVER, BackendDown
from tweetcare.ui.config import CONFIG
from tweetcare.ui.data import ANALYZE, CLASSIFY

# /analyze answers these when the server predates it (404, 405) or lacks its models (503)
ANALYZE_FALLBACK_CODES = (404, 405, 503)


@dataclass(frozen=True)
class Answer:
    """One text's answer and the endpoint that gave it (`analyze`, or `classify` as fallback);
    `note` says why /analyze did not answer when it did not."""

    endpoint: str
    body: dict[str, Any]
    note: str = ""


def analyze(settings: Settings, text: str, timeout: float = CONFIG.http_timeout_seconds) -> Answer:
    """POST the text to /analyze; a server without it (404/405), or whose analysis models are
    not registered (503), is asked /classify instead, and the answer says why."""
    if not text.strip():
        raise UserError("type or paste a tweet first")
    note = ""
    for endpoint in (ANALYZE, CLASSIFY):
        response = _post(settings, f"/{endpoint}", {"texts": [text]}, timeout)
        if endpoint == ANALYZE and response.status_code in ANALYZE_FALLBACK_CODES:
            note = _unavailable_reason(settings) or _error_text(response)
            continue
        if 400 <= response.status_code < 500:
            raise UserError(f"the model server refused the text: {_error_text(response)}")
        if response.status_code >= 500:
            raise BackendDown(
                MODEL_SERVER, settings.bento_url, _error_text(response), START_MODEL_SERVER
            )
        return Answer(endpoint, response.json()[0], note)
    raise AssertionError("unreachable: /classify either answers or raises")


def model_info(settings: Settings, timeout: float = CONFIG.probe_timeout_seconds) -> dict[str, str]:
    """The served model's name, version, alias and run, as /model_info reports them."""
    try:
        response = httpx.get(f"{settings.bento_url}/model_info", timeout=timeout)
        response.raise_for_status()
    except httpx.HTTPError as err:
        raise BackendDown(MODEL_SERVER, settings.bento_url, _why(err), START_MODEL_SERVER) from err
    return response.json()


def _post(settings: Settings, path: str, body: Any, timeout: float) -> httpx.Response:
    try:
        return httpx.post(f"{settings.bento_url}{path}", json=body, timeout=timeout)
    except httpx.HTTPError as err:
        raise BackendDown(MODEL_SERVER, settings.bento_url, _why(err), START_MODEL_SERVER) from err


def _why(err: Exception) -> str:
    if isinstance(err, httpx.ConnectError):
        return "nothing answers there"
    if isinstance(err, httpx.TimeoutException):
        return "it did not answer in time"
    return str(err) or type(err).__name__


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    message = body.get("error") or body.get("detail") if isinstance(body, dict) else None
    return f"HTTP {response.status_code}: {message or str(body)[:200]}"


def _unavailable_reason(settings: Settings) -> str:
    """Why /analyze cannot answer, as /model_info reports it (BentoML hides 5xx messages)."""
    try:
        return str(model_info(settings).get(ANALYZE_UNAVAILABLE_KEY) or "")
    except BackendDown:
        return ""
