"""Wiring for `tweetcare ingest x`: settings, rules file, X client and a Kafka producer."""

from __future__ import annotations

from collections.abc import Callable

from kafka import KafkaProducer
from kafka.errors import KafkaError

from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.ingest.backoff import BackoffPolicy
from tweetcare.ingest.rules import load_x_rules
from tweetcare.ingest.x_api import XApi
from tweetcare.ingest.x_ingest import IngestReport, XIngest

FLUSH_TIMEOUT_S = 60.0
NO_TOKEN = (
    "no X API credentials: set TWEETCARE_X_BEARER_TOKEN to your app's bearer token "
    "(developer.x.com), or feed Kafka from a file with `tweetcare replay`"
)


class KafkaSink:
    """The `tweets` topic, keyed by conversation like `tweetcare replay` sends it."""

    def __init__(self, settings: Settings) -> None:
        self.topic = settings.topic_tweets
        try:
            self.producer = KafkaProducer(**settings.kafka_client_options(), linger_ms=5)
        except KafkaError as err:
            raise UserError(
                f"no Kafka broker answers at {settings.kafka_bootstrap} ({err}); "
                "run `tweetcare kafka start`"
            ) from err

    def send(self, key: str, value: bytes, on_error: Callable[[BaseException], None]) -> None:
        self.producer.send(self.topic, key=key.encode(), value=value).add_errback(on_error)

    def close(self) -> None:
        self.producer.flush(timeout=FLUSH_TIMEOUT_S)
        self.producer.close(timeout=FLUSH_TIMEOUT_S)


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
        raise UserError(f"--limit must be at least 1, got {limit}")
    if not (stream or mentions):
        raise UserError("nothing to ingest: --no-stream and --no-mentions exclude each other")
    rules = load_x_rules(settings.x_rules_config)
    # the replay format, defined once (imported here: it pulls in pandas)
    from tweetcare.kafka.replay import build_message

    sink = KafkaSink(settings)
    api = XApi(settings.x_api_base_url, settings.x_bearer_token)
    ingest = XIngest(
        api, rules, sink, build_message, settings.x_mentions_poll_seconds, limit, policy
    )
    try:
        return ingest.run(stream=stream, mentions=mentions, sync_rules=sync_rules)
    finally:
        ingest.stop.set()
        sink.close()
        api.close()
