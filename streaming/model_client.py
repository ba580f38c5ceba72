"""The stream's only way to the model: the BentoML server's HTTP API.

Two kinds of failure, two answers:
- the server is down, restarting or overloaded (no connection, 5xx, 429): wait with bounded
  exponential backoff (logged) for up to `wait_s` in all, and go on where it stopped, so an
  outage loses nothing; only a server down for longer than that raises `ModelServerError`;
- the server refuses a chunk (another 4xx): the chunk is split in halves and retried until the
  offending texts stand alone; each of those comes back as `Refused(reason)` in its place, so the
  caller dead-letters only them and the rest of the batch goes on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import TypeAdapter, ValidationError

from tweetcare.backoff import Backoff, retry
from tweetcare.core.errors import describe_validation
from tweetcare.core.schemas import Analysis, Classification

REQUEST_TIMEOUT_S = 60.0
# how long a call waits out a model server that is unreachable or failing, in all
DEFAULT_WAIT_S = 300.0
# the first pause and the longest one between two attempts
FIRST_PAUSE_S = 0.5
MAX_PAUSE_S = 15.0
# answers that mean "not now" rather than "not this": waited out, never bisected
BUSY = frozenset({408, 425, 429})
# answers that mean the client is misconfigured (wrong URL or route, no access): every text
# would be refused alike, so this raises instead of dead-lettering the whole batch
MISCONFIGURED = frozenset({401, 403, 404, 405})

# an error code, not a sentence: Pydantic's `[type=string_too_long, input_value=...]`
_ERROR_TYPE = re.compile(r"\[type=(\w+)")
_CODE = re.compile(r"[A-Za-z][\w.-]{0,63}")

_CLASSIFICATIONS = TypeAdapter(list[Classification])
_ANALYSES = TypeAdapter(list[Analysis])


class ModelServerError(RuntimeError):
    """The model server could not be reached in time or answered something unusable."""


@dataclass(frozen=True)
class Refused:
    """The server refused this one text (a 4xx when sent alone); `reason` gives the status and
    error codes it answered, never the text (`answer_problem`)."""

    reason: str


class _Unavailable(Exception):
    """Worth waiting for: no connection, a 5xx, or the server asking us to slow down."""


class _Rejected(Exception):
    def __init__(self, status: int, problem: str) -> None:
        super().__init__(problem)
        self.status = status


def answer_problem(response: httpx.Response) -> str:
    """A failed answer in words that quote no text: the HTTP status and the error codes the body
    names (Pydantic's `[type=...]`, a JSON `code`). The body itself stays out of dead letters,
    logs and errors: a validation message repeats the tweets it refused."""
    codes = dict.fromkeys(_ERROR_TYPE.findall(response.text))
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if isinstance(answer, dict):
        named = (answer.get(key) for key in ("code", "error_code", "type"))
        codes |= dict.fromkeys(c for c in named if isinstance(c, str) and _CODE.fullmatch(c))
    return f"HTTP {response.status_code}" + (f" ({', '.join(codes)})" if codes else "")


def classify(
    texts: list[str],
    base_url: str,
    max_texts: int,
    *,
    wait_s: float = DEFAULT_WAIT_S,
    client: httpx.Client | None = None,
) -> list[Classification | Refused]:
    """Classify `texts` in order, in requests of at most `max_texts` each."""
    return _in_chunks("/classify", _CLASSIFICATIONS, texts, base_url, max_texts, wait_s, client)


def analyze(
    texts: list[str],
    base_url: str,
    max_texts: int,
    *,
    wait_s: float = DEFAULT_WAIT_S,
    client: httpx.Client | None = None,
) -> list[Analysis | Refused]:
    """The full analysis of `texts` (inbound, sentiment, category, entities, ticket decision),
    in order; a text the server refuses on its own comes back as `Refused`."""
    return _in_chunks("/analyze", _ANALYSES, texts, base_url, max_texts, wait_s, client)


def model_info(
    base_url: str,
    *,
    wait_s: float = DEFAULT_WAIT_S,
    client: httpx.Client | None = None,
) -> dict[str, Any]:
    """The served model's name, version, run id and alias."""
    with _client(client) as http:
        try:
            answer = _post(http, f"{base_url}/model_info", {}, _backoff(wait_s))
        except _Rejected as err:
            raise ModelServerError(f"{base_url}/model_info refused the request: {err}") from err
    if not isinstance(answer, dict):
        raise ModelServerError(f"/model_info answered {type(answer).__name__}, not an object")
    return answer


def _in_chunks(
    route: str,
    adapter: TypeAdapter[Any],
    texts: list[str],
    base_url: str,
    max_texts: int,
    wait_s: float,
    client: httpx.Client | None,
) -> list[Any]:
    """POST `texts` to `route` in order, in requests of at most `max_texts` each."""
    if max_texts < 1:
        raise ValueError(f"max_texts must be at least 1, got {max_texts}")
    backoff = _backoff(wait_s)
    results: list[Any] = []
    with _client(client) as http:
        for start in range(0, len(texts), max_texts):
            chunk = texts[start : start + max_texts]
            results.extend(_bisecting(http, f"{base_url}{route}", adapter, chunk, backoff))
    return results


def _bisecting(
    http: httpx.Client, url: str, adapter: TypeAdapter[Any], texts: list[str], backoff: Backoff
) -> list[Any]:
    """One chunk's results; a refused chunk is split until the refused texts stand alone."""
    try:
        answer = _post(http, url, {"texts": texts}, backoff)
    except _Rejected as err:
        if err.status in MISCONFIGURED:
            raise ModelServerError(f"{url} refused the request: {err}") from err
        if len(texts) == 1:
            return [Refused(f"the model server refused it: {err}")]
        middle = len(texts) // 2
        left = _bisecting(http, url, adapter, texts[:middle], backoff)
        return left + _bisecting(http, url, adapter, texts[middle:], backoff)
    try:
        parsed = adapter.validate_python(answer)
    except ValidationError as err:
        shape = describe_validation(err, "answer")  # field and problem, not the values
        raise ModelServerError(f"{url} answered an unexpected shape: {shape}") from err
    if len(parsed) != len(texts):
        raise ModelServerError(f"{url} answered {len(parsed)} results for {len(texts)} texts")
    return list(parsed)


def _backoff(wait_s: float) -> Backoff:
    return Backoff(total_s=wait_s, first_s=FIRST_PAUSE_S, max_s=MAX_PAUSE_S)


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


def _post(http: httpx.Client, url: str, body: dict[str, Any], backoff: Backoff) -> Any:
    """POST, waiting out an unavailable server; a refusal raises `_Rejected` at once."""

    def attempt() -> Any:
        try:
            response = http.post(url, json=body)
        except httpx.TransportError as err:
            raise _Unavailable(f"{type(err).__name__}: {err}") from err
        status = response.status_code
        if status >= 500 or status in BUSY:
            raise _Unavailable(answer_problem(response))
        if status >= 400:
            raise _Rejected(status, answer_problem(response))
        try:
            return response.json()
        except ValueError as err:
            raise ModelServerError(f"{url} answered something that is not JSON") from err

    try:
        return retry(
            attempt, lambda err: isinstance(err, _Unavailable), backoff, f"model server {url}"
        )
    except _Unavailable as err:
        raise ModelServerError(
            f"{url} still unavailable after waiting {backoff.total_s:.0f}s: {err}"
        ) from err
