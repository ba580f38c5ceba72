"""The stream's only way to the model: the BentoML server's HTTP API.

Three kinds of failure, three answers:
- the server is down, restarting or overloaded (no connection, 502/503/504, 429): wait with
  bounded exponential backoff (logged) for up to `wait_s` in all, and go on where it stopped, so
  an outage loses nothing; only a server down for longer than that raises `ModelServerError`;
- the server refuses a chunk (another 4xx): the chunk is split in halves and retried until the
  offending texts stand alone; each of those comes back as `Refused(reason)` in its place, so the
  caller dead-letters only them and the rest of the batch goes on;
- the server fails on a chunk (HTTP 500): a text may crash a model, so the chunk is split the
  same way; a text that still fails alone after `tries` tries is `Refused` only if the server
  answers a probe text at once, else the server is failing everything (an outage: waited out as
  above), so one text can never stall the stream and an outage never fills the dead letters.
"""

from __future__ import annotations

import re
import time
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
# how often a text that makes the server fail (HTTP 500) is sent alone before it is refused
# (`Settings.model_server_error_tries` in the stream)
DEFAULT_TRIES = 3
# the first pause and the longest one between two attempts
FIRST_PAUSE_S = 0.5
MAX_PAUSE_S = 15.0
# answers that mean "not now" rather than "not this": waited out, never bisected
BUSY = frozenset({408, 425, 429})
# answers that mean the client is misconfigured (wrong URL or route, no access): every text
# would be refused alike, so this raises instead of dead-lettering the whole batch
MISCONFIGURED = frozenset({401, 403, 404, 405})
# answers that may mean "not this text": the server failed while scoring it; bisected, then
# tried alone up to the cap (every other 5xx is an outage)
FAILED = frozenset({500})
# what tells a text that crashes a model from a server that crashes on everything: a plain
# tweet, scored at once when the server is well
PROBE_TEXT = "@support my order has not arrived yet, can you help?"

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
    """Worth waiting for: no connection, a 502/503/504, or the server asking us to slow down."""


class _Failed(Exception):
    """The server failed on this request (HTTP 500): maybe one of its texts, maybe the server."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


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
    tries: int = DEFAULT_TRIES,
    client: httpx.Client | None = None,
) -> list[Classification | Refused]:
    """Classify `texts` in order, in requests of at most `max_texts` each."""
    calls = _Calls(base_url + "/classify", _CLASSIFICATIONS, _backoff(wait_s), tries)
    return _in_chunks(calls, texts, max_texts, client)


def analyze(
    texts: list[str],
    base_url: str,
    max_texts: int,
    *,
    wait_s: float = DEFAULT_WAIT_S,
    tries: int = DEFAULT_TRIES,
    client: httpx.Client | None = None,
) -> list[Analysis | Refused]:
    """The full analysis of `texts` (inbound, sentiment, category, entities, ticket decision),
    in order; a text the server refuses (or fails on, `tries` times) alone comes back as
    `Refused`."""
    calls = _Calls(base_url + "/analyze", _ANALYSES, _backoff(wait_s), tries)
    return _in_chunks(calls, texts, max_texts, client)


def model_info(
    base_url: str,
    *,
    wait_s: float = DEFAULT_WAIT_S,
    client: httpx.Client | None = None,
) -> dict[str, Any]:
    """The served model's name, version, run id and alias."""
    with _client(client) as http:
        try:
            # no text to blame here: a failure is waited out like an outage
            answer = _post(http, f"{base_url}/model_info", {}, _backoff(wait_s), text_faults=False)
        except _Rejected as err:
            raise ModelServerError(f"{base_url}/model_info refused the request: {err}") from err
    if not isinstance(answer, dict):
        raise ModelServerError(f"/model_info answered {type(answer).__name__}, not an object")
    return answer


@dataclass(frozen=True)
class _Calls:
    """One route's calls: where, how answers are read, how long outages are waited out, and how
    often a text that makes the server fail is tried alone."""

    url: str
    adapter: TypeAdapter[Any]
    backoff: Backoff
    tries: int


def _in_chunks(
    calls: _Calls, texts: list[str], max_texts: int, client: httpx.Client | None
) -> list[Any]:
    """POST `texts` to the route in order, in requests of at most `max_texts` each."""
    if max_texts < 1:
        raise ValueError(f"max_texts must be at least 1, got {max_texts}")
    if calls.tries < 1:
        raise ValueError(f"tries must be at least 1, got {calls.tries}")
    results: list[Any] = []
    with _client(client) as http:
        for start in range(0, len(texts), max_texts):
            results.extend(_bisecting(http, calls, texts[start : start + max_texts]))
    return results


def _bisecting(http: httpx.Client, calls: _Calls, texts: list[str]) -> list[Any]:
    """One chunk's results; a refused or failed chunk is split until its bad texts stand alone."""
    try:
        answer = _post(http, calls.url, {"texts": texts}, calls.backoff)
    except _Rejected as err:
        if err.status in MISCONFIGURED:
            raise ModelServerError(f"{calls.url} refused the request: {err}") from err
        if len(texts) == 1:
            return [Refused(f"the model server refused it: {err}")]
        return _halves(http, calls, texts)
    except _Failed as err:
        if len(texts) == 1:
            return [_alone(http, calls, texts[0], err)]
        return _halves(http, calls, texts)
    return _parsed(calls, answer, len(texts))


def _halves(http: httpx.Client, calls: _Calls, texts: list[str]) -> list[Any]:
    middle = len(texts) // 2
    return _bisecting(http, calls, texts[:middle]) + _bisecting(http, calls, texts[middle:])


def _alone(http: httpx.Client, calls: _Calls, text: str, failure: _Failed) -> Any:
    """A text the server just failed on alone (its first try): tried again up to `calls.tries`
    tries in all (pauses as in an outage). Still failing, it is refused if the server scores the
    probe text at once; if the probe fails too, the server is failing everything: wait for it
    (bounded, as any outage) and give the text its tries again, once."""
    for waited in (False, True):
        for attempt in range(1 if waited else 2, calls.tries + 1):
            time.sleep(_pause(calls.backoff, attempt - 1))
            try:
                answer = _post(http, calls.url, {"texts": [text]}, calls.backoff)
            except _Failed as err:
                failure = err
                continue
            except _Rejected as err:
                if err.status in MISCONFIGURED:
                    raise ModelServerError(f"{calls.url} refused the request: {err}") from err
                return Refused(f"the model server refused it: {err}")
            return _parsed(calls, answer, 1)[0]
        if waited or _server_is_well(http, calls):
            break
    # the status alone: a server's error body can quote the text (personal data)
    return Refused(f"HTTP {failure.status} after {calls.tries} tries")


def _pause(backoff: Backoff, attempt: int) -> float:
    """The pause before the `attempt`th retry (from 1): the outage's pauses, in order."""
    pauses = backoff.pauses()
    return pauses[min(attempt, len(pauses)) - 1] if attempt and pauses else 0.0


def _server_is_well(http: httpx.Client, calls: _Calls) -> bool:
    """True when the server scores the probe text at once; False once it did after an outage
    (waited out with `calls.backoff`). A server failing for longer raises `ModelServerError`."""
    failed_once: list[bool] = []

    def probe() -> Any:
        try:
            return _post(http, calls.url, {"texts": [PROBE_TEXT]}, calls.backoff)
        except _Failed as err:
            failed_once.append(True)
            raise _Unavailable(f"{err} on the probe text as well") from err

    try:
        retry(
            probe,
            lambda err: isinstance(err, _Unavailable),
            calls.backoff,
            f"model server {calls.url} (failing every text)",
        )
    except _Unavailable as err:
        raise ModelServerError(
            f"{calls.url} still failing after waiting {calls.backoff.total_s:.0f}s: {err}"
        ) from err
    except _Rejected as err:
        raise ModelServerError(f"{calls.url} refused the probe text: {err}") from err
    return not failed_once


def _parsed(calls: _Calls, answer: Any, count: int) -> list[Any]:
    """The answer as `count` typed results, or `ModelServerError` naming the shape problem."""
    try:
        parsed = calls.adapter.validate_python(answer)
    except ValidationError as err:
        shape = describe_validation(err, "answer")  # field and problem, not the values
        raise ModelServerError(f"{calls.url} answered an unexpected shape: {shape}") from err
    if len(parsed) != count:
        raise ModelServerError(f"{calls.url} answered {len(parsed)} results for {count} texts")
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


def _post(
    http: httpx.Client,
    url: str,
    body: dict[str, Any],
    backoff: Backoff,
    *,
    text_faults: bool = True,
) -> Any:
    """POST, waiting out an unavailable server; a refusal raises `_Rejected` and, when the texts
    may be to blame (`text_faults`), a failure (HTTP 500) raises `_Failed`, both at once."""

    def attempt() -> Any:
        try:
            response = http.post(url, json=body)
        except httpx.TransportError as err:
            raise _Unavailable(f"{type(err).__name__}: {err}") from err
        status = response.status_code
        if status in FAILED and text_faults:
            raise _Failed(status)
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
