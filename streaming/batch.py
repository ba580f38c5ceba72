"""One micro-batch of raw Kafka records to lake files, tickets, replies, dead letters, statistics.

Runs on the Spark driver (`foreachBatch`), which delivers at least once: every side effect is
keyed by tweet id or by the batch key, so a batch replayed after a crash changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from streaming import lake
from streaming.model_client import analyze, model_info
from streaming.parse import DeadLetter, parse_message
from streaming.publish import KafkaPublisher, Publisher
from streaming.records import KafkaRecord
from tweetcare.core.schemas import Analysis, TweetMessage
from tweetcare.core.settings import Settings
from tweetcare.tickets import Ticket, TicketEvent, TicketStore
from tweetcare.tickets.replies import ReplyTemplates, load_replies
from tweetcare.tickets.routing import RoutingRules, load_routing

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
    """Holds the driver's long-lived clients and rules (created on first use); processes batches."""

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
        self._routing: RoutingRules | None = None
        self._templates: ReplyTemplates | None = None

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

    @property
    def routing(self) -> RoutingRules:
        if self._routing is None:
            self._routing = load_routing(self.settings.routing_config)
        return self._routing

    @property
    def templates(self) -> ReplyTemplates:
        if self._templates is None:
            self._templates = load_replies(self.settings.replies_config)
        return self._templates

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

        analyses = self._analyze([tweet.text for tweet, _ in tweets])
        lineage = lake.lineage_of(model_info(self.settings.bento_url) if tweets else {})

        # tickets first, so each lake row can name the ticket its conversation has
        events = [TicketEvent(t, a) for (t, _), a in zip(tweets, analyses, strict=True)]
        self.store.apply(
            events, self.routing, self.templates, batch_id=key, data_version=lineage.data_version
        )
        tickets = self.store.tickets_of({tweet.conversation_id for tweet, _ in tweets})

        tweet_rows = [
            lake.tweet_row(
                tweet,
                record,
                analysis,
                _ticket_id(tickets, tweet),
                batch_id,
                self.stream_id,
                processed_at,
                lineage,
            )
            for (tweet, record), analysis in zip(tweets, analyses, strict=True)
        ]
        lake.write_batch(
            tweet_rows,
            lake.TWEET_SCHEMA,
            self.settings.lake_dir / TWEETS_DIR,
            key,
            lake.TWEET_PARTITIONS,
        )

        # the state of every ticket this batch touched, also on a replay (at-least-once topics)
        for conversation_id in sorted(tickets):
            ticket = tickets[conversation_id]
            self.publisher.publish(self.settings.topic_tickets, conversation_id, ticket.to_dict())
        for reply in self.store.replies_sent_in(key):
            self.publisher.publish(
                self.settings.topic_replies, reply.conversation_id, reply.to_dict()
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

        n_inbound = sum(analysis.inbound for analysis in analyses)
        stats = BatchStats(
            n_messages=len(records),
            n_valid=len(tweets),
            n_dead_lettered=len(dead),
            n_inbound=n_inbound,
            n_outbound=len(tweets) - n_inbound,
            n_tickets_opened=len(self.store.tickets_opened_in(key)),
        )
        self.store.record_batch(key, processed_at=processed_at, **asdict(stats))
        return stats

    def _analyze(self, texts: list[str]) -> list[Analysis]:
        """One call chain per batch; over-long texts are cut to what the server accepts."""
        if not texts:
            return []
        limit = self.settings.classify_max_chars
        return analyze(
            [text[:limit] for text in texts],
            self.settings.bento_url,
            self.settings.classify_max_texts,
        )


def _ticket_id(tickets: dict[str, Ticket], tweet: TweetMessage) -> str | None:
    ticket = tickets.get(tweet.conversation_id)
    return ticket.ticket_id if ticket is not None else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
