"""The ticket store: one open ticket per customer conversation, on any SQLAlchemy URL.

Written by the streaming job and read by the CLI. Every write is keyed (tweet id, conversation,
batch id) so the stream's at-least-once replays change nothing the second time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from tweetcare.core.schemas import TWCS_DATE_FORMAT, TweetMessage
from tweetcare.tickets.engine import make_engine, sqlite_file
from tweetcare.tickets.models import (
    OPEN,
    Base,
    StreamBatch,
    Ticket,
    TicketTweet,
    brand_of,
    ticket_id_for,
)

# ids per IN (...) clause: well under SQLite's and Postgres' parameter limits
IN_CLAUSE_CHUNK = 500
BATCH_STAT_FIELDS = (
    "n_messages",
    "n_valid",
    "n_dead_lettered",
    "n_inbound",
    "n_outbound",
    "n_tickets_opened",
)


class TicketStore:
    """Tickets, the tweets attached to them and per-batch stream statistics."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def create_schema(self) -> None:
        """Create the tables that are missing (and a SQLite file's folder)."""
        path = sqlite_file(self.url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        Base.metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def open_or_attach(
        self,
        tweets: Sequence[TweetMessage],
        model_name: str | None = None,
        model_version: str | None = None,
        batch_id: str | None = None,
    ) -> list[Ticket]:
        """Open a ticket for each new conversation, attach the rest; return only the new tickets.

        A tweet already attached (a replayed batch) is skipped, so nothing changes twice.
        """
        now = datetime.now(UTC)
        opened: list[Ticket] = []
        with self._sessions.begin() as session:
            seen = _existing_tweet_ids(session, [t.tweet_id for t in tweets])
            tickets = _tickets_by_conversation(session, {t.conversation_id for t in tweets})
            for tweet in tweets:
                if tweet.tweet_id in seen:
                    continue
                seen.add(tweet.tweet_id)
                created = _tweet_time(tweet.created_at, default=now)
                ticket = tickets.get(tweet.conversation_id)
                if ticket is None:
                    ticket = Ticket(
                        ticket_id=ticket_id_for(tweet.conversation_id),
                        conversation_id=tweet.conversation_id,
                        customer_id=tweet.author_id,
                        brand=brand_of(tweet.text),
                        status=OPEN,
                        text=tweet.text,
                        first_tweet_id=tweet.tweet_id,
                        tweet_count=1,
                        created_at=created,
                        updated_at=created,
                        model_name=model_name,
                        model_version=model_version,
                        opened_in_batch=batch_id,
                    )
                    session.add(ticket)
                    tickets[tweet.conversation_id] = ticket
                    opened.append(ticket)
                else:
                    ticket.tweet_count += 1
                    ticket.updated_at = max(_utc(ticket.updated_at), created)
                # flush the ticket before the row that points at it (Postgres checks the FK)
                session.flush()
                session.add(
                    TicketTweet(
                        tweet_id=tweet.tweet_id, ticket_id=ticket.ticket_id, attached_at=now
                    )
                )
        return opened

    def tickets_opened_in(self, batch_id: str) -> list[Ticket]:
        """Tickets a batch opened: a replayed batch publishes these again (at-least-once)."""
        with self._sessions() as session:
            query = select(Ticket).where(Ticket.opened_in_batch == batch_id)
            return list(session.scalars(query.order_by(Ticket.created_at, Ticket.ticket_id)))

    def record_batch(
        self, batch_id: str, processed_at: datetime | None = None, **stats: int
    ) -> None:
        """Insert or replace one batch's statistics (`n_messages=...` and the other counters)."""
        unknown = set(stats) - set(BATCH_STAT_FIELDS)
        if unknown:
            raise ValueError(f"unknown batch statistics: {', '.join(sorted(unknown))}")
        values = {name: int(stats.get(name, 0)) for name in BATCH_STAT_FIELDS}
        with self._sessions.begin() as session:
            session.merge(
                StreamBatch(
                    batch_id=batch_id, processed_at=processed_at or datetime.now(UTC), **values
                )
            )

    def counts(self) -> dict[str, int]:
        """Totals for status displays; zeros when the schema does not exist yet."""
        keys = ("tickets", "attached_tweets", "batches", "messages", "valid", "dead_lettered")
        keys += ("inbound", "outbound")
        if not self._exists() or not inspect(self.engine).has_table(StreamBatch.__tablename__):
            return dict.fromkeys(keys, 0)
        sums = [
            func.coalesce(func.sum(getattr(StreamBatch, name)), 0) for name in BATCH_STAT_FIELDS
        ]
        with self._sessions() as session:
            n_tickets = session.scalar(select(func.count()).select_from(Ticket)) or 0
            n_tweets = session.scalar(select(func.count()).select_from(TicketTweet)) or 0
            row = session.execute(select(func.count(), *sums).select_from(StreamBatch)).one()
        batches, messages, valid, dead, inbound, outbound, _opened = (int(v) for v in row)
        return dict(
            zip(
                keys,
                (n_tickets, n_tweets, batches, messages, valid, dead, inbound, outbound),
                strict=True,
            )
        )

    def list_tickets(self, limit: int = 20) -> list[Ticket]:
        """The most recently updated tickets first."""
        with self._sessions() as session:
            query = select(Ticket).order_by(Ticket.updated_at.desc(), Ticket.ticket_id)
            return list(session.scalars(query.limit(limit)))

    def _exists(self) -> bool:
        """False for a SQLite file not yet created: reading must not create an empty one."""
        path = sqlite_file(self.url)
        return path is None or path.exists()


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), IN_CLAUSE_CHUNK):
        yield items[start : start + IN_CLAUSE_CHUNK]


def _existing_tweet_ids(session: Session, tweet_ids: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(sorted(set(tweet_ids))):
        found.update(
            session.scalars(select(TicketTweet.tweet_id).where(TicketTweet.tweet_id.in_(chunk)))
        )
    return found


def _tickets_by_conversation(session: Session, conversation_ids: set[str]) -> dict[str, Ticket]:
    found: dict[str, Ticket] = {}
    for chunk in _chunks(sorted(conversation_ids)):
        for ticket in session.scalars(select(Ticket).where(Ticket.conversation_id.in_(chunk))):
            found[ticket.conversation_id] = ticket
    return found


def _tweet_time(created_at: str, default: datetime) -> datetime:
    try:
        return datetime.strptime(created_at, TWCS_DATE_FORMAT).astimezone(UTC)
    except ValueError:
        return default


def _utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored here is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
