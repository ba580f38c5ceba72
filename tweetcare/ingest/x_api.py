"""The X API v2 endpoints ingestion uses, over httpx with the app's bearer token.

Answers are classified for the reconnect policy: `RateLimited` (429, with the seconds until
`x-rate-limit-reset`), `Refused` (401/403: the token is wrong, retrying cannot help) and
`HttpFailure` (anything else worth retrying). Rate-limit headers of every answer are kept per
endpoint, so a poll that has used up its window waits for the reset instead of earning a 429.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tweetcare.ingest.messages import TWEET_PARAMS

STREAM_PATH = "/2/tweets/search/stream"
RULES_PATH = "/2/tweets/search/stream/rules"
USERS_BY_PATH = "/2/users/by"
MENTIONS_PATH = "/2/users/{id}/mentions"
# X sends a keep-alive newline every 20 s; a stream silent for longer than this has stalled
STALL_SECONDS = 30.0
REQUEST_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_MENTIONS_PER_PAGE = 100


class XError(Exception):
    pass


class Refused(XError):
    """401/403: the bearer token is missing, wrong or lacks access."""


class RateLimited(XError):
    def __init__(self, until_reset: float | None, detail: str) -> None:
        super().__init__(detail)
        self.until_reset = until_reset


class HttpFailure(XError):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status


def seconds_until_reset(headers: httpx.Headers, now: float | None = None) -> float | None:
    """`x-rate-limit-reset` (epoch seconds) as seconds from now; None when absent or unreadable."""
    try:
        reset = float(headers["x-rate-limit-reset"])
    except (KeyError, ValueError):
        return None
    return reset - (time.time() if now is None else now)


def check(response: httpx.Response) -> None:
    """Raise the `XError` an unsuccessful answer stands for."""
    if response.is_success:
        return
    detail = _detail(response)
    if response.status_code == 429:
        raise RateLimited(seconds_until_reset(response.headers), detail)
    if response.status_code in (401, 403):
        raise Refused(f"X refused the bearer token (HTTP {response.status_code}: {detail})")
    raise HttpFailure(response.status_code, detail)


class XApi:
    def __init__(self, base_url: str, bearer_token: str) -> None:
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {bearer_token}", "User-Agent": "tweetcare"},
            timeout=REQUEST_TIMEOUT,
        )
        self._exhausted: dict[str, float] = {}  # endpoint -> epoch second its window reopens
        self._lock = threading.Lock()

    def close(self) -> None:
        self.client.close()

    def wait_for_window(self, endpoint: str) -> float:
        """Seconds until `endpoint`'s rate-limit window reopens (0 when calls remain)."""
        with self._lock:
            reset = self._exhausted.get(endpoint)
        return 0.0 if reset is None else max(reset - time.time(), 0.0)

    def get_rules(self) -> list[dict[str, str]]:
        return self._get(RULES_PATH, RULES_PATH).get("data") or []

    def change_rules(self, add: list[dict[str, str]], delete_ids: list[str]) -> None:
        if delete_ids:
            self._post(RULES_PATH, {"delete": {"ids": delete_ids}})
        if add:
            self._post(RULES_PATH, {"add": add})

    def user_ids(self, handles: list[str]) -> dict[str, str]:
        """handle -> X user id, for the handles X knows."""
        payload = self._get(USERS_BY_PATH, USERS_BY_PATH, {"usernames": ",".join(handles)})
        wanted = {h.lower(): h for h in handles}
        return {
            wanted[u["username"].lower()]: str(u["id"])
            for u in payload.get("data") or []
            if u.get("username", "").lower() in wanted
        }

    def mentions(
        self, user_id: str, since_id: str | None, pagination_token: str | None
    ) -> dict[str, Any]:
        params = {**TWEET_PARAMS, "max_results": str(MAX_MENTIONS_PER_PAGE)}
        if since_id:
            params["since_id"] = since_id
        if pagination_token:
            params["pagination_token"] = pagination_token
        return self._get(MENTIONS_PATH.format(id=user_id), MENTIONS_PATH, params)

    @contextmanager
    def stream(self) -> Iterator[httpx.Response]:
        """The filtered stream, opened and checked; iterate `iter_lines()` on what it yields."""
        timeout = httpx.Timeout(STALL_SECONDS, connect=10.0)
        with self.client.stream("GET", STREAM_PATH, params=TWEET_PARAMS, timeout=timeout) as r:
            if not r.is_success:
                r.read()
                check(r)
            yield r

    def _get(self, path: str, endpoint: str, params: dict[str, str] | None = None) -> Any:
        response = self.client.get(path, params=params)
        self._note_limits(endpoint, response)
        check(response)
        return response.json()

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        response = self.client.post(path, json=body)
        check(response)
        answer = response.json()
        if answer.get("errors") and not answer.get("meta"):
            raise HttpFailure(response.status_code, str(answer["errors"])[:300])
        return answer

    def _note_limits(self, endpoint: str, response: httpx.Response) -> None:
        with self._lock:
            if response.headers.get("x-rate-limit-remaining") == "0":
                until = seconds_until_reset(response.headers)
                if until is not None:
                    self._exhausted[endpoint] = time.time() + until
                    return
            self._exhausted.pop(endpoint, None)


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body.get("errors") or body)[:200]
    return str(body)[:200]
