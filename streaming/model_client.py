"""The stream's only way to the model: the BentoML server's HTTP API.

A server that is down or failing is retried a few times and then raised, never turned into dead
letters: the micro-batch fails and Spark replays it from the checkpoint once the server is back.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from pydantic import TypeAdapter, ValidationError

from tweetcare.core.schemas import Analysis, Classification

# attempts per request and the first pause between them (doubled after each failure)
DEFAULT_ATTEMPTS = 4
DEFAULT_BACKOFF_S = 0.5
REQUEST_TIMEOUT_S = 60.0

_CLASSIFICATIONS = TypeAdapter(list[Classification])
_ANALYSES = TypeAdapter(list[Analysis])


class ModelServerError(RuntimeError):
    """The model server could not be reached or answered something unusable."""


def classify(
    texts: list[str],
    base_url: str,
    max_texts: int,
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    backoff_s: float = DEFAULT_BACKOFF_S,
    client: httpx.Client | None = None,
) -> list[Classification]:
    """Classify `texts` in order, in requests of at most `max_texts` each."""
    return _in_chunks(
        "/classify", _CLASSIFICATIONS, texts, base_url, max_texts, attempts, backoff_s, client
    )


def analyze(
    texts: list[str],
    base_url: str,
    max_texts: int,
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    backoff_s: float = DEFAULT_BACKOFF_S,
    client: httpx.Client | None = None,
) -> list[Analysis]:
    """The full analysis of `texts` (inbound, sentiment, category, entities, ticket decision)."""
    return _in_chunks(
        "/analyze", _ANALYSES, texts, base_url, max_texts, attempts, backoff_s, client
    )


def _in_chunks(
    route: str,
    adapter: TypeAdapter[Any],
    texts: list[str],
    base_url: str,
    max_texts: int,
    attempts: int,
    backoff_s: float,
    client: httpx.Client | None,
) -> list[Any]:
    """POST `texts` to `route` in order, in requests of at most `max_texts` each."""
    if max_texts < 1:
        raise ValueError(f"max_texts must be at least 1, got {max_texts}")
    results: list[Any] = []
    with _client(client) as http:
        for start in range(0, len(texts), max_texts):
            chunk = texts[start : start + max_texts]
            answer = _post(http, f"{base_url}{route}", {"texts": chunk}, attempts, backoff_s)
            try:
                parsed = adapter.validate_python(answer)
            except ValidationError as err:
                raise ModelServerError(f"{route} answered an unexpected shape: {err}") from err
            if len(parsed) != len(chunk):
                raise ModelServerError(
                    f"{route} answered {len(parsed)} results for {len(chunk)} texts"
                )
            results.extend(parsed)
    return results


def model_info(
    base_url: str,
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    backoff_s: float = DEFAULT_BACKOFF_S,
    client: httpx.Client | None = None,
) -> dict[str, Any]:
    """The served model's name, version, run id and alias."""
    with _client(client) as http:
        answer = _post(http, f"{base_url}/model_info", {}, attempts, backoff_s)
    if not isinstance(answer, dict):
        raise ModelServerError(f"/model_info answered {type(answer).__name__}, not an object")
    return answer


class _client:
    """Use the caller's client as is, or open (and close) a fresh one."""

    def __init__(self, client: httpx.Client | None) -> None:
        self._given = client
        self._own: httpx.Client | None = None

    def __enter__(self) -> httpx.Client:
        if self._given is not None:
            return self._given
        self._own = httpx.Client(timeout=REQUEST_TIMEOUT_S)
        return self._own

    def __exit__(self, *_exc: object) -> None:
        if self._own is not None:
            self._own.close()


def _post(
    http: httpx.Client, url: str, body: dict[str, Any], attempts: int, backoff_s: float
) -> Any:
    """POST with retries on connection errors and 5xx; a 4xx is the caller's bug, raised at once."""
    last_error = "no attempt made"
    for attempt in range(max(attempts, 1)):
        if attempt:
            time.sleep(backoff_s * 2 ** (attempt - 1))
        try:
            response = http.post(url, json=body)
        except httpx.TransportError as err:
            last_error = f"{type(err).__name__}: {err}"
            continue
        if response.status_code >= 500:
            last_error = f"HTTP {response.status_code}: {response.text[:200]}"
            continue
        if response.status_code >= 400:
            raise ModelServerError(
                f"{url} refused the request: HTTP {response.status_code}: {response.text[:500]}"
            )
        try:
            return response.json()
        except ValueError as err:
            raise ModelServerError(f"{url} answered something that is not JSON") from err
    raise ModelServerError(f"{url} failed after {attempts} attempts; last error: {last_error}")
