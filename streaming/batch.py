"""One micro-batch of raw Kafka records to lake files, tickets, dead letters and statistics.

Runs on the Spark driver (`foreachBatch`), which delivers at least once: every side effect is
keyed by tweet id or by the batch key, so a batch replayed after a crash changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from streaming import lake
from streaming.model_client import classify, model_info
from streaming.parse import DeadLetter, parse_created_at, parse_message
from streaming.publish import KafkaPublisher, Publisher
from streaming.records import KafkaRecord
from tweetcare.core.schemas import Classification, TweetMessage
from tweetcare.core.settings import Settings
from tweetcare.tickets import TicketStore

TWEETS_DIR = "tweets"
DEAD_LETTERS_DIR = "dead_letters"


@dataclass(frozen=True)
class BatchStats:
    n_messages: int
    n_valid: int
    n_dead_lettered: int
    n_inbound: int
    n_outbound: int
    n_tickets_opened: int


class BatchProcessor:
    """Holds the driver's long-lived clients (created on first use) and processes batches."""

    def __init__(
        self,
        settings: Settings,
        stream_id: str = "stream",
        publisher: Publisher | None = None,
        store: TicketStore | None = None,
    ) -> None:
        self.settings = settings
        self.stream_id = stream_id
        self._publisher = publisher
        self._store = store

    @property
    def publisher(self) -> Publisher:
        if self._publisher is None:
            self._publisher = KafkaPublisher(self.settings.kafka_bootstrap)
        return self._publisher

    @property
    def store(self) -> TicketStore:
        if self._store is None:
            self._store = TicketStore(self.settings.tickets_db_url)
            self._store.create_schema()
        return self._store

    def close(self) -> None:
        """Flush and close what was opened (the Kafka producer, the database engine)."""
        if isinstance(self._publisher, KafkaPublisher):
            self._publisher.close()
        if self._store is not None:
            self._store.close()

    def batch_key(self, batch_id: int) -> str:
        """Spark's batch numbers restart with a new checkpoint; the stream id keeps keys unique."""
        return f"{self.stream_id}-{batch_id:08d}"

    def process(self, batch_id: int, records: Sequence[KafkaRecord]) -> BatchStats:
        key = self.batch_key(batch_id)
        processed_at = datetime.now(UTC)
        tweets: list[tuple[TweetMessage, KafkaRecord]] = []
        dead: list[tuple[DeadLetter, KafkaRecord]] = []
        for record in records:
            parsed = parse_message(record.value)
            if isinstance(parsed, DeadLetter):
                dead.append((parsed, record))
            else:
                tweets.append((parsed, record))

        predictions = self._classify([tweet.text for tweet, _ in tweets])
        info = model_info(self.settings.bento_url) if tweets else {}
        model_name, model_version = (
            lake.str_or_none(info.get("name")),
            lake.str_or_none(info.get("version")),
        )

        tweet_rows = [
            lake.tweet_row(tweet, record, pred, batch_id, self.stream_id, processed_at, info)
            for (tweet, record), pred in zip(tweets, predictions, strict=True)
        ]
        lake.write_batch(tweet_rows, lake.TWEET_SCHEMA, self.settings.lake_dir / TWEETS_DIR, key)

        inbound = [t for (t, _), p in zip(tweets, predictions, strict=True) if p.inbound]
        inbound.sort(key=lambda t: parse_created_at(t.created_at) or processed_at)
        self.store.open_or_attach(inbound, model_name, model_version, batch_id=key)
        # every ticket this batch opened, also on a replay: the topic is at-least-once
        opened = self.store.tickets_opened_in(key)
        for ticket in opened:
            self.publisher.publish(
                self.settings.topic_tickets, ticket.conversation_id, ticket.to_dict()
            )

        letters = [lake.dead_letter_row(d, r, batch_id, self.stream_id) for d, r in dead]
        for letter in letters:
            message = {k: v for k, v in letter.items() if k != lake.PARTITION_COLUMN}
            message["kafka_timestamp"] = _iso(letter["kafka_timestamp"])
            self.publisher.publish(self.settings.topic_dlq, None, message)
        lake.write_batch(
            letters, lake.DEAD_LETTER_SCHEMA, self.settings.lake_dir / DEAD_LETTERS_DIR, key
        )
        self.publisher.flush()

        stats = BatchStats(
            n_messages=len(records),
            n_valid=len(tweets),
            n_dead_lettered=len(dead),
            n_inbound=len(inbound),
            n_outbound=len(tweets) - len(inbound),
            n_tickets_opened=len(opened),
        )
        self.store.record_batch(key, processed_at=processed_at, **asdict(stats))
        return stats

    def _classify(self, texts: list[str]) -> list[Classification]:
        """One call chain per batch; over-long texts are cut to what the server accepts."""
        if not texts:
            return []
        limit = self.settings.classify_max_chars
        return classify(
            [text[:limit] for text in texts],
            self.settings.bento_url,
            self.settings.classify_max_texts,
        )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
