"""`tweetcare ingest x`: the filtered stream and the brands' mentions onto the `tweets` topic.

Two loops share one producer and one memory of published tweet ids: the stream loop holds the
filtered-stream connection open and reconnects as `backoff` says; the mentions loop polls each
brand's mention timeline (replies to the brand mention it too) every
`x_mentions_poll_seconds`, from the brand's durable cursor. A tweet published by one is not
published again by the other, nor after a reconnect.

Nothing read is lost: each tweet is written to the outbox before it is sent and deleted from it
when Kafka acknowledges it; what the outbox holds is sent first when a run starts and again
every poll interval (a broker outage), and a brand's cursor moves only once every tweet of its
poll has been acknowledged.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from tweetcare.core.errors import UserError
from tweetcare.ingest.backoff import BackoffPolicy, Reconnects
from tweetcare.ingest.cursor import MentionCursor
from tweetcare.ingest.dedup import SeenIds
from tweetcare.ingest.messages import record_of, usernames
from tweetcare.ingest.outbox import Entry, Outbox
from tweetcare.ingest.rules import XRules, plan_rule_changes
from tweetcare.ingest.x_api import MENTIONS_PATH, HttpFailure, RateLimited, Refused, XApi, XError
from tweetcare.kafka.producer import FLUSH_TIMEOUT_S

log = logging.getLogger(__name__)
BuildMessage = Callable[[dict[str, Any]], bytes]


class Sink(Protocol):
    def send(
        self,
        key: str,
        value: bytes,
        on_ack: Callable[[], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        """Send one message; exactly one of the callbacks is called, from any thread."""

    def flush(self, timeout: float) -> bool:
        """Wait until every message sent so far has its answer; False if time ran out."""


@dataclass
class IngestReport:
    published: int = 0
    duplicates: int = 0
    skipped: int = 0  # stream lines that were not a tweet (bad JSON, error notices)
    failed: int = 0  # sends Kafka did not acknowledge (the tweet stays in the outbox)
    resent: int = 0  # sends of tweets the outbox held
    kept: int = 0  # tweets still in the outbox when the run ended (sent first next time)
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
        *,
        outbox: Outbox,
        cursor: MentionCursor,
        flush_timeout: float = FLUSH_TIMEOUT_S,
    ) -> None:
        self.api, self.rules, self.sink, self.build = api, rules, sink, build_message
        self.poll_seconds, self.limit, self.policy = poll_seconds, limit, policy
        self.outbox, self.cursor, self.flush_timeout = outbox, cursor, flush_timeout
        self.brands = {handle.lower(): handle for handle in rules.handles}
        self.seen = SeenIds()
        self.report = IngestReport()
        self.stop = threading.Event()
        self._publishing = threading.Lock()
        # tweets handed to the producer and not answered yet (never sent twice at once)
        self._in_flight: set[str] = set()
        self._flight = threading.Lock()

    def run(
        self, stream: bool = True, mentions: bool = True, sync_rules: bool = True
    ) -> IngestReport:
        self.resend_outbox()  # what an earlier run could not send goes first
        if sync_rules and stream:
            self._call(lambda: self._retrying(self.sync_rules))
        if self.stop.is_set():
            return self._finish()
        readers = {
            loop: threading.Thread(target=self._call, args=(loop,), daemon=True)
            for loop, on in ((self.stream_loop, stream), (self.mentions_loop, mentions))
            if on
        }
        resender = threading.Thread(target=self._call, args=(self.outbox_loop,), daemon=True)
        for thread in (*readers.values(), resender):
            thread.start()
        previous = self._stop_on_signals()
        try:
            while any(t.is_alive() for t in readers.values()) and not self.stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            log.info("stopped by Ctrl-C")
        finally:
            self.stop.set()
            for number, handler in previous.items():
                signal.signal(number, handler)
        # a mention poll that is ending moves its cursor first; a stream read blocked until the
        # next keep-alive is not waited for (closing the client ends it)
        for thread in (readers.get(self.mentions_loop), resender):
            if thread is not None:
                thread.join(self.flush_timeout)
        return self._finish()

    def _stop_on_signals(self) -> dict[int, Any]:
        """Ctrl-C and a service manager's SIGTERM end the run alike: the readers stop and Kafka's
        answers are awaited. Set here, not inherited: a run started with SIGINT ignored (a shell's
        background job) must still stop on it. Returns the handlers to put back."""
        if threading.current_thread() is not threading.main_thread():
            return {}

        def stop(number: int, _frame: Any) -> None:
            log.info("stopped by %s", signal.Signals(number).name)
            self.stop.set()

        return {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)}

    def _finish(self) -> IngestReport:
        """Wait for Kafka's answers, so the outbox keeps exactly what did not get through."""
        if not self.sink.flush(self.flush_timeout):
            log.warning("Kafka did not answer within %.0f s", self.flush_timeout)
        self.report.kept = len(self.outbox)
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
        while not self.stop.is_set():
            for user_id in user_ids.values():
                since = self.cursor.since(user_id)
                polled = self._retrying(lambda uid=user_id, s=since: self.poll_mentions(uid, s))
                if polled is None:
                    return  # stopped
                self.advance_when_acknowledged(user_id, *polled)
            self.stop.wait(self.poll_seconds)

    def advance_when_acknowledged(
        self, user_id: str, newest: str | None, tweet_ids: list[str], complete: bool
    ) -> None:
        """Move the brand's cursor to `newest` once Kafka has every tweet up to it."""
        if newest is None or not complete:
            return  # nothing new, or a limit cut the poll short: the next run asks again
        if not self.sink.flush(self.flush_timeout) or self.outbox.holds_any(tweet_ids):
            log.warning("mentions up to %s are not all in Kafka yet; the cursor stays", newest)
            return
        self.cursor.advance(user_id, newest)

    def poll_mentions(
        self, user_id: str, since_id: str | None
    ) -> tuple[str | None, list[str], bool]:
        """Publish mentions newer than `since_id` (only the newest page on the first poll);
        returns the newest id seen, the ids of the tweets polled, and whether every one was
        published (or had been before)."""
        token: str | None = None
        newest: str | None = None
        polled: list[str] = []
        complete = True
        while not self.stop.is_set():
            wait = self.api.wait_for_window(MENTIONS_PATH)
            if wait:
                log.info("mentions: rate-limit window used up; waiting %.0f s", wait)
                if self.stop.wait(wait):
                    break
            page = self.api.mentions(user_id, since_id, token)
            names = usernames(page)
            for tweet in page.get("data") or []:
                polled.append(str(tweet.get("id")))
                complete = self.publish(tweet, names) and complete
            meta = page.get("meta") or {}
            newest = newest or meta.get("newest_id")
            token = meta.get("next_token")
            if not token or since_id is None:
                break
        else:
            complete = False
        return newest, polled, complete

    def publish(self, tweet: dict[str, Any], names: dict[str, str]) -> bool:
        """Send a tweet unless it was sent before; both loops call this (hence the lock).

        The tweet is in the outbox before it is sent. False when the limit left it unsent."""
        record = record_of(tweet, names, self.brands)
        tweet_id = record["tweet_id"]
        with self._publishing:
            if self.limit is not None and self.report.published >= self.limit:
                self.stop.set()
                return False
            if not self.seen.add(tweet_id):
                self.report.count("duplicates")
                return True
            entry = Entry(tweet_id, record["conversation_id"], self.build(record))
            with self._flight:  # kept and in flight at once: a resend never picks it up
                self.outbox.put(entry)
                self._in_flight.add(tweet_id)
            self._send(entry)
            self.report.count("published")
            if self.limit is not None and self.report.published >= self.limit:
                self.stop.set()
            return True

    def resend_outbox(self) -> int:
        """Send again, oldest first, what the outbox holds and Kafka is not answering for now."""
        with self._flight:
            entries = [e for e in self.outbox.entries() if e.tweet_id not in self._in_flight]
            self._in_flight.update(e.tweet_id for e in entries)
        for entry in entries:
            self.seen.add(entry.tweet_id)  # X may deliver it again: the outbox sends it
            self.report.count("resent")
            self._send(entry)
        if entries:
            log.info("resending %d tweets from the outbox %s", len(entries), self.outbox.path)
        return len(entries)

    def outbox_loop(self) -> None:
        """Every poll interval, resend what a failed send left in the outbox."""
        while not self.stop.wait(self.poll_seconds):
            self.resend_outbox()

    def _send(self, entry: Entry) -> None:
        def acknowledged() -> None:
            with self._flight:  # out of the outbox before a resend could pick it up
                self.outbox.remove(entry.tweet_id)
                self._in_flight.discard(entry.tweet_id)

        def failed(err: BaseException) -> None:
            with self._flight:
                self._in_flight.discard(entry.tweet_id)
            self.report.count("failed")
            log.error("tweet %s is not in Kafka yet (%r); the outbox keeps it", entry.tweet_id, err)

        self.sink.send(entry.key, entry.value, acknowledged, failed)

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
