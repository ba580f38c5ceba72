"""`tweetcare ingest x`: the filtered stream and the brands' mentions onto the `tweets` topic.

Two loops share one producer and one memory of published tweet ids: the stream loop holds the
filtered-stream connection open and reconnects as `backoff` says; the mentions loop polls each
brand's mention timeline (replies to the brand mention it too) every
`x_mentions_poll_seconds`, from the newest id it has seen. A tweet published by one is not
published again by the other, nor after a reconnect.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from tweetcare.core.errors import UserError
from tweetcare.ingest.backoff import BackoffPolicy, Reconnects
from tweetcare.ingest.dedup import SeenIds
from tweetcare.ingest.messages import record_of, usernames
from tweetcare.ingest.rules import XRules, plan_rule_changes
from tweetcare.ingest.x_api import MENTIONS_PATH, HttpFailure, RateLimited, Refused, XApi, XError

log = logging.getLogger(__name__)
BuildMessage = Callable[[dict[str, Any]], bytes]


class Sink(Protocol):
    def send(self, key: str, value: bytes, on_error: Callable[[BaseException], None]) -> None: ...


@dataclass
class IngestReport:
    published: int = 0
    duplicates: int = 0
    skipped: int = 0  # stream lines that were not a tweet (bad JSON, error notices)
    failed: int = 0
    reconnects: int = 0
    keep_alives: int = 0
    fatal: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def as_dict(self) -> dict[str, Any]:
        return {name: value for name, value in vars(self).items() if not name.startswith("_")}


class XIngest:
    """Run with `run()` until `stop` is set, `limit` tweets are published, or X refuses us."""

    def __init__(
        self,
        api: XApi,
        rules: XRules,
        sink: Sink,
        build_message: BuildMessage,
        poll_seconds: float,
        limit: int | None = None,
        policy: BackoffPolicy | None = None,
    ) -> None:
        self.api, self.rules, self.sink, self.build = api, rules, sink, build_message
        self.poll_seconds, self.limit, self.policy = poll_seconds, limit, policy
        self.brands = {handle.lower(): handle for handle in rules.handles}
        self.seen = SeenIds()
        self.report = IngestReport()
        self.stop = threading.Event()
        self._publishing = threading.Lock()

    def run(
        self, stream: bool = True, mentions: bool = True, sync_rules: bool = True
    ) -> IngestReport:
        if sync_rules and stream:
            self._call(lambda: self._retrying(self.sync_rules))
        if self.stop.is_set():
            return self._finish()
        loops = [
            loop for loop, on in ((self.stream_loop, stream), (self.mentions_loop, mentions)) if on
        ]
        threads = [threading.Thread(target=self._call, args=(loop,), daemon=True) for loop in loops]
        for thread in threads:
            thread.start()
        try:
            while any(t.is_alive() for t in threads) and not self.stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            log.info("stopped by Ctrl-C")
        finally:
            self.stop.set()
        return self._finish()

    def _finish(self) -> IngestReport:
        if self.report.fatal:
            raise UserError(self.report.fatal)
        return self.report

    def sync_rules(self) -> None:
        """Make the stream's rules exactly the file's."""
        add, delete = plan_rule_changes(self.api.get_rules(), self.rules.stream_rules())
        self.api.change_rules(add, delete)
        log.info("stream rules: %d added, %d deleted", len(add), len(delete))

    def stream_loop(self) -> None:
        reconnects = Reconnects(self.policy)
        while not self.stop.is_set():
            try:
                with self.api.stream() as response:
                    reconnects.connected()
                    log.info("connected to the filtered stream")
                    for line in response.iter_lines():
                        if self.stop.is_set():
                            return
                        self.on_line(line)
                wait, why = reconnects.after_network_error(), "the stream ended"
            except RateLimited as err:
                wait, why = reconnects.after_rate_limit(err.until_reset), f"rate limited ({err})"
            except HttpFailure as err:
                wait, why = reconnects.after_http_error(), str(err)
            except httpx.TransportError as err:
                wait, why = reconnects.after_network_error(), f"{type(err).__name__}: {err}"
            if self.stop.is_set():
                return
            self.report.count("reconnects")
            log.warning("%s; reconnecting in %.2f s", why, wait)
            self.stop.wait(wait)

    def on_line(self, line: str) -> None:
        """One line of the stream: a keep-alive, a tweet with its includes, or a notice."""
        if not line.strip():
            self.report.count("keep_alives")
            return
        try:
            payload = json.loads(line)
        except json.JSONDecodeError:
            self.report.count("skipped")
            log.warning("skipped a stream line that is not JSON: %.80r", line)
            return
        tweet = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(tweet, dict) or "id" not in tweet:
            self.report.count("skipped")
            log.warning("X says: %.300s", line)
            return
        self.publish(tweet, usernames(payload))

    def mentions_loop(self) -> None:
        user_ids = self._retrying(lambda: self.api.user_ids(self.rules.handles))
        if user_ids is None:
            return
        for handle in set(self.rules.handles) - set(user_ids):
            log.warning("X knows no user @%s; its mentions are not polled", handle)
        newest: dict[str, str | None] = dict.fromkeys(user_ids.values())
        while not self.stop.is_set():
            for user_id in user_ids.values():
                since = self._retrying(lambda uid=user_id: self.poll_mentions(uid, newest[uid]))
                if since is None and self.stop.is_set():
                    return
                newest[user_id] = since or newest[user_id]
            self.stop.wait(self.poll_seconds)

    def poll_mentions(self, user_id: str, since_id: str | None) -> str | None:
        """Publish mentions newer than `since_id` (only the newest page on the first poll);
        returns the newest id seen."""
        token: str | None = None
        newest: str | None = None
        while not self.stop.is_set():
            wait = self.api.wait_for_window(MENTIONS_PATH)
            if wait:
                log.info("mentions: rate-limit window used up; waiting %.0f s", wait)
                if self.stop.wait(wait):
                    break
            page = self.api.mentions(user_id, since_id, token)
            names = usernames(page)
            for tweet in page.get("data") or []:
                self.publish(tweet, names)
            meta = page.get("meta") or {}
            newest = newest or meta.get("newest_id")
            token = meta.get("next_token")
            if not token or since_id is None:
                break
        return newest or since_id

    def publish(self, tweet: dict[str, Any], names: dict[str, str]) -> None:
        """Send a tweet unless it was sent before; both loops call this (hence the lock)."""
        record = record_of(tweet, names, self.brands)
        tweet_id = record["tweet_id"]
        with self._publishing:
            if self.limit is not None and self.report.published >= self.limit:
                self.stop.set()
                return
            if not self.seen.add(tweet_id):
                self.report.count("duplicates")
                return

            def failed(err: BaseException) -> None:
                self.seen.forget(tweet_id)
                self.report.count("failed")
                log.error("tweet %s was not published: %r", tweet_id, err)

            self.sink.send(record["conversation_id"], self.build(record), failed)
            self.report.count("published")
            if self.limit is not None and self.report.published >= self.limit:
                self.stop.set()

    def _retrying(self, call: Callable[[], Any]) -> Any:
        """`call()` until it succeeds, backing off on X's errors; None once stopped."""
        reconnects = Reconnects(self.policy)
        while not self.stop.is_set():
            try:
                return call()
            except RateLimited as err:
                wait = reconnects.after_rate_limit(err.until_reset)
            except HttpFailure:
                wait = reconnects.after_http_error()
            except httpx.TransportError:
                wait = reconnects.after_network_error()
            log.warning("X call failed; retrying in %.2f s", wait)
            self.stop.wait(wait)
        return None

    def _call(self, work: Callable[[], None]) -> None:
        """Run a loop; X refusing the token stops everything with one clear reason."""
        try:
            work()
        except Refused as err:
            self.report.fatal = f"{err}: check TWEETCARE_X_BEARER_TOKEN"
            self.stop.set()
        except XError as err:
            self.report.fatal = f"X API: {err}"
            self.stop.set()
        except Exception as err:  # noqa: BLE001 - a dead loop must stop the run, not hide
            if not self.stop.is_set():  # (once stopped, closing the client ends a blocked read)
                self.report.fatal = f"ingest failed: {type(err).__name__}: {err}"
                self.stop.set()
