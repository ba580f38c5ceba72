"""One Spark partition of a micro-batch: raw Kafka records to lake rows, dead letters, ticket
upserts and the messages for the output topics.

Runs on an executor (inside `mapInArrow`, see `streaming/job.py`), one instance per task with
the worker's HTTP client and its own ticket store connection. Spark delivers at least once: the
ticket store is idempotent by tweet id, the lake is merged on tweet id and every output message
carries a stable `message_id`, so a partition processed twice changes nothing twice.
`record_stats` is the one part the driver runs: it writes the partitions' statistics once the
batch's outputs are written.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pyarrow as pa
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from streaming import lake
from streaming.model_client import REQUEST_TIMEOUT_S, analyze, model_info
from streaming.parse import DeadLetter
from streaming.records import KafkaRecord, read_record
from tweetcare.core.schemas import Analysis, TweetMessage
from tweetcare.core.settings import Settings
from tweetcare.tickets import Ticket, TicketEvent, TicketStore
from tweetcare.tickets.engine import describe_db_error
from tweetcare.tickets.models import reply_message_id
from tweetcare.tickets.replies import ReplyTemplates
from tweetcare.tickets.routing import RoutingRules

# a dead letter's raw value on the DLQ topic is cut here (the lake keeps it whole)
DLQ_RAW_CHARS = 16 * 1024
# the end of a text cut to `classify_max_chars` (tickets and the lake keep what the models read)
TRUNCATION_MARK = " […]"

log = logging.getLogger("tweetcare.stream")

# texts in, one Analysis (or a refusal with a `reason`) per text out, in order
Analyzer = Callable[[list[str]], Sequence[Any]]


@dataclass(frozen=True)
class BatchStats:
    n_messages: int
    n_valid: int
    n_dead_lettered: int
    n_inbound: int
    n_outbound: int
    n_tickets_opened: int


@dataclass
class PartitionResult:
    """What one partition produced, as rows of `lake.OUTPUT_SCHEMA`."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    stats: BatchStats | None = None


def partition_key(stream_id: str, batch_id: int, kafka_partition: int) -> str:
    """The ticket store's batch key: Spark's batch numbers restart with a new checkpoint, the
    stream id keeps keys unique; one key per Kafka partition, so tasks never share one."""
    return f"{stream_id}-{batch_id:08d}-p{kafka_partition}"


@dataclass(frozen=True)
class JobContext:
    """What every task needs, built once on the driver and shipped to the executors."""

    settings: Settings
    routing: RoutingRules
    templates: ReplyTemplates
    stream_id: str


class PartitionProcessor:
    """Processes the records of one partition; `analyzer` and `store` are injectable for tests."""

    def __init__(
        self,
        context: JobContext,
        store: TicketStore,
        analyzer: Analyzer,
        lineage: Callable[[], lake.Lineage],
    ) -> None:
        self.context = context
        self.store = store
        self.analyzer = analyzer
        self._lineage_of = lineage
        self._lineage: lake.Lineage | None = None

    @property
    def lineage(self) -> lake.Lineage:
        """Asked of the server only when a partition has tweets to score."""
        if self._lineage is None:
            self._lineage = self._lineage_of()
        return self._lineage

    def process(self, batch_id: int, records: Sequence[KafkaRecord]) -> PartitionResult:
        if not records:
            return PartitionResult()
        settings = self.context.settings
        stream_id = self.context.stream_id
        key = partition_key(stream_id, batch_id, records[0].partition)
        processed_at = datetime.now(UTC)
        tweets: list[tuple[TweetMessage, KafkaRecord]] = []
        dead: list[tuple[DeadLetter, KafkaRecord]] = []
        seen: set[str] = set()
        for record in records:
            parsed = read_record(record)
            if isinstance(parsed, DeadLetter):
                dead.append((parsed, record))
            elif parsed.tweet_id not in seen:  # a repeat within the batch: the lake keeps one
                seen.add(parsed.tweet_id)
                tweets.append((parsed, record))

        analysed: list[tuple[TweetMessage, KafkaRecord, Analysis]] = []
        limit = settings.classify_max_chars
        if tweets:
            answers = self.analyzer([tweet.text[:limit] for tweet, _ in tweets])
            for (tweet, record), answer in zip(tweets, answers, strict=True):
                if isinstance(answer, Analysis):
                    analysed.append((tweet, record, marked_if_cut(tweet, answer, limit)))
                else:
                    reason = getattr(answer, "reason", None) or type(answer).__name__
                    dead.append((DeadLetter(f"refused by the model server: {reason}"), record))

        applied, refused = self._apply_tickets(analysed, key)
        dead.extend(refused)
        conversations = {tweet.conversation_id for tweet, _, _ in applied}
        tickets = self.store.tickets_of(conversations) if conversations else {}

        rows: list[dict[str, Any]] = []
        n_inbound = 0
        candidates = [
            lake.tweet_row(
                tweet,
                record,
                analysis,
                ticket.ticket_id if (ticket := tickets.get(tweet.conversation_id)) else None,
                batch_id,
                stream_id,
                processed_at,
                self.lineage,
                text_truncated=len(tweet.text) > limit,
            )
            for tweet, record, analysis in applied
        ]
        valid = lake.valid_rows(candidates, lake.TWEET_SCHEMA)
        for (_, record, analysis), row, ok in zip(applied, candidates, valid, strict=True):
            if ok:
                rows.append({"kind": lake.KIND_TWEET, "out_key": key, **row})
                n_inbound += analysis.inbound
            else:
                dead.append((DeadLetter("a field out of the lake's range or type"), record))

        for conversation_id in sorted(tickets):
            rows.append(ticket_message(settings.topic_tickets, tickets[conversation_id]))
        for reply in self.store.replies_sent_in(key):
            rows.append(reply_message(settings.topic_replies, reply))
        for letter, record in dead:
            row = lake.dead_letter_row(letter, record, batch_id, stream_id)
            rows.append({"kind": lake.KIND_DEAD, "out_key": key, **row})
            rows.append(dead_letter_message(settings.topic_dlq, row))

        n_valid = len(rows_of(rows, lake.KIND_TWEET))
        stats = BatchStats(
            n_messages=len(records),
            n_valid=n_valid,
            n_dead_lettered=len(dead),
            n_inbound=n_inbound,
            n_outbound=n_valid - n_inbound,
            n_tickets_opened=len(self.store.tickets_opened_in(key)),
        )
        rows.append(stats_row(key, processed_at, stats))
        return PartitionResult(rows=rows, stats=stats)

    def _apply_tickets(
        self, analysed: list[tuple[TweetMessage, KafkaRecord, Analysis]], key: str
    ) -> tuple[
        list[tuple[TweetMessage, KafkaRecord, Analysis]], list[tuple[DeadLetter, KafkaRecord]]
    ]:
        """Upsert the partition's tickets in bulk; if a record makes that fail (not the database
        being down), apply one by one and dead-letter the records that fail alone. Errors are
        described by class and code only: a database's message can quote the tweet."""
        if not analysed:
            return [], []
        events = [TicketEvent(tweet, analysis) for tweet, _, analysis in analysed]
        try:
            self._apply(events, key)
            return analysed, []
        except DBAPIError as err:
            if err.connection_invalidated or _is_outage(err):
                raise
            log.warning(
                "bulk ticket upsert failed (%s); applying tweet by tweet", describe_db_error(err)
            )
        except Exception as err:  # noqa: BLE001 - find the record, keep the rest
            log.warning(
                "bulk ticket upsert failed (%s); applying tweet by tweet", describe_db_error(err)
            )
        kept, refused = [], []
        for item, event in zip(analysed, events, strict=True):
            try:
                self._apply([event], key)
                kept.append(item)
            except DBAPIError as err:
                if err.connection_invalidated or _is_outage(err):
                    raise
                refused.append(
                    (DeadLetter(f"ticket store refused it: {describe_db_error(err)}"), item[1])
                )
            except Exception as err:  # noqa: BLE001
                refused.append(
                    (DeadLetter(f"ticket store refused it: {describe_db_error(err)}"), item[1])
                )
        return kept, refused

    def _apply(self, events: list[TicketEvent], key: str) -> None:
        self.store.apply(
            events,
            self.context.routing,
            self.context.templates,
            batch_id=key,
            data_version=self.lineage.data_version,
        )


def marked_if_cut(tweet: TweetMessage, analysis: Analysis, limit: int) -> Analysis:
    """The models read a text's first `limit` characters: what the ticket and the lake keep of a
    longer one ends in TRUNCATION_MARK, so nobody takes the start for the whole tweet (the lake
    also flags it, `text_truncated`)."""
    if len(tweet.text) <= limit:
        return analysis
    return analysis.model_copy(update={"masked_text": analysis.masked_text + TRUNCATION_MARK})


def _is_outage(err: DBAPIError) -> bool:
    """The database is unreachable or busy: the batch must wait or replay, not dead-letter."""
    return isinstance(err, OperationalError | InterfaceError)


def stats_row(key: str, processed_at: datetime, stats: BatchStats) -> dict[str, Any]:
    """The partition's statistics, recorded once the batch's outputs are written."""
    value = {"processed_at": processed_at.isoformat(), **asdict(stats)}
    return {"kind": lake.KIND_STATS, "out_key": key, "out_value": json.dumps(value)}


def record_stats(store: TicketStore, stats: Iterable[tuple[str, str]]) -> None:
    """Each partition's statistics (its batch key and `stats_row`'s JSON) into the ticket store.
    A few rows a batch, so the driver writes them from the batch's summary: no Spark job and no
    task opening a store connection for them."""
    for key, payload in stats:
        value = json.loads(payload)
        processed_at = datetime.fromisoformat(value.pop("processed_at"))
        store.record_batch(key, processed_at=processed_at, **value)


def rows_of(rows: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [row for row in rows if row["kind"] == kind]


def _message(topic: str, key: str | None, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": lake.KIND_MESSAGE,
        "out_topic": topic,
        "out_key": key,
        "out_value": json.dumps(value, ensure_ascii=False, default=str),
    }


def ticket_message(topic: str, ticket: Ticket) -> dict[str, Any]:
    """The ticket's state; `message_id` names the ticket and its update, stable on a replay."""
    value = ticket.to_dict()
    version = getattr(ticket, "version", None) or value.get("updated_at") or ticket.updated_at
    value["message_id"] = f"ticket:{ticket.ticket_id}:{version}"
    return _message(topic, ticket.conversation_id, value)


def reply_message(topic: str, reply: Any) -> dict[str, Any]:
    """The drafted reply, with the same message id scheme as a person's later decision."""
    value = reply.to_dict()
    value["message_id"] = reply_message_id(reply.reply_id, value["decision"])
    return _message(topic, reply.conversation_id, value)


def dead_letter_message(topic: str, row: dict[str, Any]) -> dict[str, Any]:
    """A dead letter for the DLQ topic (raw value cut to DLQ_RAW_CHARS; the lake keeps it all)."""
    value = {k: v for k, v in row.items() if k != lake.PARTITION_COLUMN}
    when = value["kafka_timestamp"]
    value["kafka_timestamp"] = when.isoformat() if when else None
    raw = value["raw"]
    value["raw_truncated"] = raw is not None and len(raw) > DLQ_RAW_CHARS
    if value["raw_truncated"]:
        value["raw"] = raw[:DLQ_RAW_CHARS]
    value["message_id"] = f"dlq:{row['topic']}:{row['partition']}:{row['offset']}"
    return _message(topic, None, value)


def http_analyzer(settings: Settings, http: httpx.Client) -> Analyzer:
    """The model server's /analyze in chunks, over one client for the whole task."""

    def call(texts: list[str]) -> Sequence[Any]:
        return analyze(
            texts,
            settings.bento_url,
            settings.classify_max_texts,
            wait_s=settings.model_server_wait_seconds,
            tries=settings.model_server_error_tries,
            client=http,
        )

    return call


def served_lineage(settings: Settings, http: httpx.Client) -> Callable[[], lake.Lineage]:
    wait_s = settings.model_server_wait_seconds
    return lambda: lake.lineage_of(model_info(settings.bento_url, wait_s=wait_s, client=http))


def records_of(batch: pa.RecordBatch) -> list[KafkaRecord]:
    """Spark's Kafka columns (`key`, `value`, `topic`, `partition`, `offset`, `timestamp_us`)."""
    return [
        KafkaRecord(
            key=row["key"],
            value=row["value"],
            topic=row["topic"],
            partition=row["partition"],
            offset=row["offset"],
            timestamp=(
                datetime.fromtimestamp(row["timestamp_us"] / 1e6, UTC)
                if row["timestamp_us"] is not None
                else None
            ),
        )
        for row in batch.to_pylist()
    ]


@functools.cache
def worker_client() -> httpx.Client:
    """One HTTP client per Python worker process, kept across its tasks (Spark reuses workers):
    a client per task built a TLS context each time (2% of the workers' samples) and opened a
    new connection to the model server. Pooled connections the server closed are dropped."""
    return httpx.Client(timeout=REQUEST_TIMEOUT_S)


def score_partitions(
    context: JobContext, batch_id: int
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The function `mapInArrow` runs in each task: the worker's HTTP client, one ticket store
    connection per task, the partition's rows out as one Arrow batch of `lake.OUTPUT_SCHEMA`."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        records = [record for batch in batches for record in records_of(batch)]
        if not records:
            return
        settings = context.settings
        http = worker_client()
        store = TicketStore(settings.tickets_db_url)
        try:
            processor = PartitionProcessor(
                context, store, http_analyzer(settings, http), served_lineage(settings, http)
            )
            result = processor.process(batch_id, records)
        finally:
            store.close()
        if result.rows:
            yield lake.output_batch(result.rows)

    return run
