"""The figures a run of the stream ends with, read back from where the stream wrote them.

They come from the outputs themselves (the Delta lake, its dead letters, the ticket store), not
from counters kept alongside, so a reconciled summary proves that nothing was lost on the way.
Lake rows are counted raw: a tweet archived twice is a problem, not something to hide.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pyarrow.compute as pc

from tweetcare.core.settings import Settings
from tweetcare.core.storage import DEAD_LETTERS_TABLE, TWEETS_TABLE, read_table
from tweetcare.tickets.store import TicketStore


@dataclass(frozen=True)
class Summary:
    replayed: int
    consumed: int
    inbound: int
    outbound: int
    tickets_opened: int
    lake_rows: int
    dead_lettered: int
    # distinct tweet ids in the lake: equal to `lake_rows` unless a tweet was archived twice
    distinct_tweets: int | None = None

    def lines(self) -> list[str]:
        return [f"{name.replace('_', ' ')}: {value}" for name, value in asdict(self).items()]

    def problems(self) -> list[str]:
        """Every way the figures fail to add up; empty when the run lost and duplicated nothing."""
        found = []
        if self.distinct_tweets is not None and self.distinct_tweets != self.lake_rows:
            found.append(
                f"lake rows ({self.lake_rows}) != distinct tweet ids ({self.distinct_tweets}): "
                "tweets archived more than once"
            )
        if self.replayed != self.lake_rows + self.dead_lettered:
            found.append(
                f"replayed ({self.replayed}) != lake rows ({self.lake_rows}) "
                f"+ dead-lettered ({self.dead_lettered})"
            )
        if self.consumed != self.replayed:
            found.append(f"consumed ({self.consumed}) != replayed ({self.replayed})")
        if self.inbound + self.outbound != self.lake_rows:
            found.append(
                f"inbound ({self.inbound}) + outbound ({self.outbound}) "
                f"!= lake rows ({self.lake_rows})"
            )
        return found


def store_counts(settings: Settings) -> dict[str, int]:
    """The ticket store's counts, its connections closed (a poll must not leave a pool open)."""
    store = TicketStore(settings.tickets_db_url)
    try:
        return store.counts()
    finally:
        store.close()


def incident_counts(settings: Settings) -> dict[str, int]:
    """The escalation incidents the ticket store holds, and how many are active now: the count
    a report gives, from the same store the console and routing read."""
    store = TicketStore(settings.tickets_db_url)
    try:
        return store.incident_counts()
    finally:
        store.close()


def consumed_messages(settings: Settings) -> int:
    return store_counts(settings)["messages"]


def collect_summary(settings: Settings, replayed: int) -> Summary:
    """The run's figures; raw row counts from the lake's current version."""
    tweets = read_table(settings, TWEETS_TABLE, columns=["tweet_id", "predicted_inbound"])
    letters = read_table(settings, DEAD_LETTERS_TABLE, columns=["offset"])
    lake_rows = tweets.num_rows if tweets is not None else 0
    distinct = len(pc.unique(tweets.column("tweet_id"))) if tweets is not None else 0
    inbound = int(pc.sum(tweets.column("predicted_inbound")).as_py() or 0) if lake_rows else 0
    counts = store_counts(settings)
    return Summary(
        replayed=replayed,
        consumed=counts["messages"],
        inbound=inbound,
        outbound=lake_rows - inbound,
        tickets_opened=counts["tickets"],
        lake_rows=lake_rows,
        dead_lettered=letters.num_rows if letters is not None else 0,
        distinct_tweets=distinct,
    )
