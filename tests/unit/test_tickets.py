"""The ticket store on SQLite: one ticket per conversation, idempotent under replays."""

from __future__ import annotations

from pathlib import Path

import pytest

from tweetcare.core.schemas import TweetMessage
from tweetcare.tickets import TicketStore
from tweetcare.tickets.models import brand_of, ticket_id_for


def tweet(
    tweet_id: str, conversation_id: str, text: str = "@AppleSupport my phone died"
) -> TweetMessage:
    return TweetMessage(
        tweet_id=tweet_id,
        author_id="115712",
        inbound=True,
        created_at=f"Tue Oct 31 22:{int(tweet_id) % 60:02d}:47 +0000 2017",
        text=text,
        conversation_id=conversation_id,
    )


@pytest.fixture
def store(tmp_path: Path) -> TicketStore:
    store = TicketStore(f"sqlite:///{tmp_path / 'db' / 'tickets.db'}")
    store.create_schema()
    return store


def test_one_ticket_per_conversation_and_follow_ups_attach(store: TicketStore) -> None:
    opened = store.open_or_attach([tweet("1", "1"), tweet("2", "1"), tweet("3", "3")], "m", "7")
    assert [t.conversation_id for t in opened] == ["1", "3"]
    first = opened[0]
    assert first.ticket_id == ticket_id_for("1") and first.ticket_id.startswith("TC-")
    assert first.brand == "AppleSupport"
    assert first.first_tweet_id == "1"
    assert (first.model_name, first.model_version, first.status) == ("m", "7", "open")

    later = store.open_or_attach([tweet("4", "1")])
    assert later == []
    by_conversation = {t.conversation_id: t for t in store.list_tickets(10)}
    assert by_conversation["1"].tweet_count == 3
    assert by_conversation["3"].tweet_count == 1
    assert by_conversation["1"].updated_at.minute == 4  # the latest attached tweet's time
    assert store.counts()["tickets"] == 2
    assert store.counts()["attached_tweets"] == 4


def test_reprocessing_the_same_tweets_changes_nothing(store: TicketStore) -> None:
    batch = [tweet("1", "1"), tweet("2", "1")]
    store.open_or_attach(batch, batch_id="s-1")
    before = [t.to_dict() for t in store.list_tickets(10)]
    assert store.open_or_attach(batch, batch_id="s-1") == []
    assert [t.to_dict() for t in store.list_tickets(10)] == before
    assert store.counts()["attached_tweets"] == 2
    assert [t.conversation_id for t in store.tickets_opened_in("s-1")] == ["1"]


def test_record_batch_is_an_upsert_and_counts_sum_batches(store: TicketStore) -> None:
    store.record_batch("s-1", n_messages=99, n_valid=99)
    stats = {"n_messages": 10, "n_valid": 8, "n_dead_lettered": 2, "n_inbound": 5}
    store.record_batch("s-1", **stats, n_outbound=3)  # a replay replaces the first record
    store.record_batch("s-2", n_messages=1, n_valid=1, n_inbound=1)
    counts = store.counts()
    assert counts["batches"] == 2
    assert (counts["messages"], counts["valid"], counts["dead_lettered"]) == (11, 9, 2)
    assert (counts["inbound"], counts["outbound"]) == (6, 3)


def test_record_batch_refuses_unknown_statistics(store: TicketStore) -> None:
    with pytest.raises(ValueError, match="n_typo"):
        store.record_batch("s-1", n_typo=1)


def test_counts_are_zero_before_the_schema_exists(tmp_path: Path) -> None:
    counts = TicketStore(f"sqlite:///{tmp_path / 'none.db'}").counts()
    assert counts["tickets"] == 0 and counts["messages"] == 0


@pytest.mark.parametrize(
    ("text", "brand"),
    [("@115712 @AmazonHelp where is it", "AmazonHelp"), ("@115712 hi", None), ("no handle", None)],
)
def test_brand_is_the_first_named_handle(text: str, brand: str | None) -> None:
    assert brand_of(text) == brand
