"""Wiring for `tweetcare ingest x`: settings, rules file, X client, a Kafka producer, and the
run's durable state (the outbox and the mentions cursor, in `<state_dir>/x-ingest/`, which one
run at a time holds)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kafka.errors import KafkaError, KafkaTimeoutError

from tweetcare.core.errors import UsageError, UserError
from tweetcare.core.settings import Settings
from tweetcare.ingest.backoff import BackoffPolicy
from tweetcare.ingest.cursor import MentionCursor
from tweetcare.ingest.outbox import Outbox
from tweetcare.ingest.rules import load_x_rules
from tweetcare.ingest.x_api import XApi
from tweetcare.ingest.x_ingest import IngestReport, XIngest
from tweetcare.kafka.producer import close_producer, open_producer
from tweetcare.service_lock import ServiceLock

STATE_FOLDER = "x-ingest"
NO_TOKEN = (
    "no X API credentials: set TWEETCARE_X_BEARER_TOKEN to your app's bearer token "
    "(developer.x.com), or feed Kafka from a file with `tweetcare replay`"
)


class KafkaSink:
    """The `tweets` topic, keyed by conversation like `tweetcare replay` sends it."""

    def __init__(self, settings: Settings) -> None:
        self.topic = settings.topic_tweets
        self.producer = open_producer(settings)

    def send(
        self,
        key: str,
        value: bytes,
        on_ack: Callable[[], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        try:
            future = self.producer.send(self.topic, key=key.encode(), value=value)
        except KafkaError as err:  # e.g. no metadata for the topic in max_block_ms
            on_error(err)
            return
        future.add_callback(lambda _metadata: on_ack()).add_errback(on_error)

    def flush(self, timeout: float) -> bool:
        try:
            self.producer.flush(timeout=timeout)
        except KafkaTimeoutError:
            return False
        return True

    def close(self) -> None:
        close_producer(self.producer)


def state_folder(settings: Settings) -> Path:
    return settings.state_dir / STATE_FOLDER


def outbox_file(settings: Settings) -> Path:
    return state_folder(settings) / "outbox.sqlite3"


def cursor_file(settings: Settings) -> Path:
    return state_folder(settings) / "mentions-cursor.json"


def lock_file(settings: Settings) -> Path:
    return state_folder(settings) / "ingest.lock"


def ingest_x(
    settings: Settings,
    limit: int | None = None,
    stream: bool = True,
    mentions: bool = True,
    sync_rules: bool = True,
    policy: BackoffPolicy | None = None,
) -> IngestReport:
    """Publish X's tweets for the configured brands until Ctrl-C or `limit` tweets."""
    if not settings.x_bearer_token:
        raise UserError(NO_TOKEN)
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be at least 1, got {limit}")
    if not (stream or mentions):
        raise UsageError("nothing to ingest: --no-stream and --no-mentions exclude each other")
    rules = load_x_rules(settings.x_rules_config)
    # the replay format, defined once (imported here: it pulls in pandas)
    from tweetcare.kafka.replay import build_message

    with ServiceLock(lock_file(settings)) as lock:
        if not lock.acquire():
            raise UserError(
                f"another `tweetcare ingest x` runs on {state_folder(settings)} "
                f"({lock_file(settings)} is locked)"
            )
        outbox = Outbox(outbox_file(settings))
        cursor = MentionCursor(cursor_file(settings))
        sink = KafkaSink(settings)
        api = XApi(settings.x_api_base_url, settings.x_bearer_token)
        ingest = XIngest(
            api,
            rules,
            sink,
            build_message,
            settings.x_mentions_poll_seconds,
            limit,
            policy,
            outbox=outbox,
            cursor=cursor,
        )
        try:
            return ingest.run(stream=stream, mentions=mentions, sync_rules=sync_rules)
        finally:
            ingest.stop.set()
            sink.close()
            api.close()
            outbox.close()
