"""The ticket store on SQLite: one ticket per conversation, routing, responses, replies, replays."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable

from tweetcare.core.errors import UserError
from tweetcare.core.schemas import Analysis, Entity, TweetMessage
from tweetcare.core.settings import Settings
from tweetcare.tickets import TicketEvent, TicketStore, actions, audit
from tweetcare.tickets.incidents import Incident
from tweetcare.tickets.models import Base, IncidentRecord, brand_of, ticket_id_for, utc
from tweetcare.tickets.replies import ReplyTemplates, load_replies
from tweetcare.tickets.routing import RoutingRules, load_routing

OTHER_DATABASE = "TWEETCARE_TEST_TICKETS_DB_URL"
MODELS = {"tweet-inbound": "3 (run1)", "tweet-category": "2 (run2)"}


def tweet(
    tweet_id: str,
    conversation_id: str,
    minute: int,
    text: str = "@AppleSupport my phone died",
    author: str = "115712",
) -> TweetMessage:
    return TweetMessage(
        tweet_id=tweet_id,
        author_id=author,
        inbound=author.isdigit(),
        created_at=f"Tue Oct 31 22:{minute:02d}:47 +0000 2017",
        text=text,
        conversation_id=conversation_id,
    )


def customer(
    tweet_id: str,
    conversation_id: str,
    minute: int,
    text: str = "@AppleSupport my phone died",
    **analysis: object,
) -> TicketEvent:
    fields: dict[str, object] = {
        "inbound": True,
        "inbound_probability": 0.97,
        "sentiment": "negative",
        "sentiment_score": -0.6,
        "category": "technical",
        "category_confidence": 0.92,
        "entities": [],
        "needs_ticket": True,
        "masked_text": text,
        "models": MODELS,
    }
    return TicketEvent(
        tweet(tweet_id, conversation_id, minute, text), Analysis.model_validate(fields | analysis)
    )


def brand_reply(tweet_id: str, conversation_id: str, minute: int) -> TicketEvent:
    analysis = Analysis(
        inbound=False, inbound_probability=0.03, needs_ticket=False, masked_text="@115712 DM us"
    )
    return TicketEvent(
        tweet(tweet_id, conversation_id, minute, "@115712 DM us", "AppleSupport"), analysis
    )


@pytest.fixture(scope="module")
def routing() -> RoutingRules:
    return load_routing(Settings().routing_config)


@pytest.fixture(scope="module")
def templates() -> ReplyTemplates:
    return load_replies(Settings().replies_config)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TicketStore]:
    """SQLite in tmp_path; TWEETCARE_TEST_TICKETS_DB_URL runs the same tests on another database
    (e.g. a Postgres URL), emptied before each test."""
    other = os.environ.get(OTHER_DATABASE)
    store = TicketStore(other or f"sqlite:///{tmp_path / 'db' / 'tickets.db'}")
    if other:
        Base.metadata.drop_all(store.engine)
        audit.AuditBase.metadata.drop_all(store.engine)
    store.create_schema()
    yield store
    store.close()


def test_a_ticket_carries_routing_priority_sla_analysis_and_lineage(
    store: TicketStore, routing: RoutingRules, templates: ReplyTemplates
) -> None:
    imei = Entity(start=0, end=4, label="PHONE", text="<phone>")
    event = customer("1", "1", 10, entities=[imei], masked_text="@AppleSupport call <phone>")
    before = datetime.now(UTC)
    outcome = store.apply([event], routing, templates, batch_id="s-1", data_version="abc123")
    after = datetime.now(UTC)
    assert (outcome.opened, outcome.attached) == (1, 0)
    ticket = store.get_ticket(ticket_id_for("1"))
    assert ticket.ticket_id.startswith("TC-") and ticket.brand == "AppleSupport"
    assert (ticket.category, ticket.team, ticket.status) == ("technical", "tech-support", "open")
    assert ticket.priority == "high"  # technical is normal; an angry customer moves it up
    assert (ticket.sentiment, ticket.sentiment_score) == ("negative", -0.6)
    assert ticket.text == "@AppleSupport call <phone>"  # the masked text, never the raw one
    assert ticket.entities == [imei.model_dump()]
    assert (ticket.models, ticket.data_version) == (MODELS, "abc123")
    created = datetime(2017, 10, 31, 22, 10, 47, tzinfo=UTC)
    assert ticket.created_at.replace(tzinfo=UTC) == created
    # the SLA clock runs from when the store opened it, not from the 2017 tweet
    opened = ticket.opened_at.replace(tzinfo=UTC)
    assert before <= opened <= after
    assert (ticket.sla_due_at.replace(tzinfo=UTC) - opened).total_seconds() == 240 * 60
    assert ticket.first_response_at is None
    assert (ticket.ticket_number, ticket.reference) == (1, "#1")
    as_json = ticket.to_dict()
    assert as_json["sla_due_at"] == (opened + timedelta(minutes=240)).isoformat()
    assert as_json["ticket_number"] == 1


def test_follow_ups_attach_and_a_brand_reply_marks_the_ticket_responded(
    store: TicketStore, routing: RoutingRules, templates: ReplyTemplates
) -> None:
    events = [customer("1", "1", 10), brand_reply("2", "1", 25), customer("3", "3", 11)]
    events.append(customer("4", "1", 30, text="still broken", needs_ticket=False))
    outcome = store.apply(events, routing, templates)
    assert (outcome.opened, outcome.attached, outcome.responses) == (2, 1, 1)
    ticket = store.get_ticket(ticket_id_for("1"))
    assert ticket.tweet_count == 2
    assert ticket.first_response_seconds == 15 * 60  # 22:10:47 -> 22:25:47
    assert ticket.first_response_tweet_id == "2"
    assert ticket.status == "open"  # the customer wrote again after the answer
    assert store.thread_of(ticket.ticket_id) == {
        "customer_tweets": ["1", "4"],
        "brand_replies": ["2"],
    }

    store.apply([brand_reply("5", "1", 40)], routing, templates)
    again = store.get_ticket(ticket_id_for("1"))
    assert again.status == "responded"
    assert again.first_response_seconds == 15 * 60  # the first response stays the first
    assert store.get_ticket(ticket_id_for("3")).status == "open"


def test_tweets_that_need_no_ticket_open_none(
    store: TicketStore, routing: RoutingRules, templates: ReplyTemplates
) -> None:
    events = [
        customer("1", "1", 10, category="praise", needs_ticket=False),
        customer("2", "2", 10, flags=["not_english"], needs_ticket=False),
        brand_reply("3", "9", 12),  # a reply in a thread without a ticket
    ]
    outcome = store.apply(events, routing, templates)
    assert (outcome.opened, outcome.no_ticket, outcome.responses) == (0, 2, 0)
    assert store.counts()["tickets"] == 0


def test_a_follow_up_with_an_urgent_word_escalates_the_ticket(
    store: TicketStore, routing: RoutingRules, templates: ReplyTemplates
) -> None:
    store.apply(
        [customer("1", "1", 10, sentiment="neutral", sentiment_score=0.0)], routing, templates
    )
    assert store.get_ticket(ticket_id_for("1")).priority == "normal"
    store.apply([customer("2", "1", 12, text="this looks like fraud")], routing, templates)
    ticket = store.get_ticket(ticket_id_for("1"))
    assert ticket.priority == "urgent"
    assert (ticket.sla_due_at - ticket.opened_at).total_seconds() == 60 * 60


def test_replies_are_drafted_gated_and_decided(
    store: TicketStore, routing: RoutingRules, templates: ReplyTemplates
) -> None:
    confident = customer("1", "1", 10)
    unsure = customer("2", "2", 10, category="billing", category_confidence=0.41)
    store.apply([confident, unsure], routing, templates, batch_id="s-1")
    [sent] = store.replies_sent_in("s-1")
    assert sent.ticket_id == ticket_id_for("1") and sent.decision == "auto"
    # the public reply names the short number, never the internal id
    assert store.get_ticket(ticket_id_for("1")).reference in sent.text
    assert "TC-" not in sent.text and sent.in_reply_to_tweet_id == "1"
    [pending] = store.list_replies("pending")
    assert pending.ticket_id == ticket_id_for("2")
    assert pending.gate_reasons == ["category confidence 0.41 < 0.80"]

    approved = actions.decide_reply(store, pending.reply_id.lower(), True, "alice")
    assert approved.decision == "approved"
    assert store.list_replies("pending") == []
    with pytest.raises(UserError, match="not pending"):
        actions.decide_reply(store, pending.reply_id, False, "alice")
    with pytest.raises(UserError, match="no reply RE-NOPE"):
        actions.decide_reply(store, "RE-NOPE", True, "alice")
    to_post = sorted([sent.reply_id, pending.reply_id])  # drafted together: by reply id
    assert [r.reply_id for r in store.replies_to_post()] == to_post
    assert store.claim_for_posting(sent.reply_id, "run-1", timedelta(minutes=5)) is not None
    store.mark_posted(sent.reply_id, "999", "run-1")
    assert [r.reply_id for r in store.replies_to_post()] == [pending.reply_id]


def test_reprocessing_the_same_tweets_changes_nothing(
    store: TicketStore, routing: RoutingRules, templates: ReplyTemplates
) -> None:
    batch = [customer("1", "1", 10), brand_reply("2", "1", 20), customer("3", "1", 30)]
    store.apply(batch, routing, templates, batch_id="s-1")
    before = [t.to_dict() for t in store.list_tickets(10)]
    replies = [r.to_dict() for r in store.list_replies()]
    again = store.apply(batch, routing, templates, batch_id="s-1")
    assert (again.opened, again.attached, again.responses) == (0, 0, 0)
    assert [t.to_dict() for t in store.list_tickets(10)] == before
    assert [r.to_dict() for r in store.list_replies()] == replies
    assert store.counts()["attached_tweets"] == 2
    assert [t.conversation_id for t in store.tickets_opened_in("s-1")] == ["1"]


def test_filters_stats_and_closing(
    store: TicketStore, routing: RoutingRules, templates: ReplyTemplates
) -> None:
    events = [
        customer("1", "1", 10),
        customer("2", "2", 10, category="billing", sentiment="positive", sentiment_score=0.2),
        brand_reply("3", "1", 20),
    ]
    store.apply(events, routing, templates)
    assert [t.conversation_id for t in store.list_tickets(team="billing")] == ["2"]
    assert [t.conversation_id for t in store.list_tickets(status="responded")] == ["1"]
    assert store.list_tickets(priority="urgent") == []
    stats = store.ticket_stats(now=datetime(2017, 10, 31, 23, 0, tzinfo=UTC))
    assert stats["tickets"] == 2 and stats["responded"] == 1
    assert stats["by_team"] == {"billing": 1, "tech-support": 1}
    assert stats["by_status"] == {"open": 1, "responded": 1}
    assert stats["first_response_seconds"]["median"] == 600
    assert stats["sla_breached"] == 0  # both are still inside their SLA at 23:00
    opened = store.get_ticket(ticket_id_for("2")).opened_at.replace(tzinfo=UTC)
    late = store.ticket_stats(now=opened + timedelta(days=5))
    assert late["sla_breached"] == 1  # the unanswered one, on the store's clock

    closed = actions.close_ticket(store, ticket_id_for("2").lower(), "bob")
    assert closed.status == "closed"
    store.apply([customer("4", "2", 40)], routing, templates)
    assert store.get_ticket(ticket_id_for("2")).status == "open"  # the customer reopened it
    with pytest.raises(UserError, match="no ticket TC-NOPE"):
        store.get_ticket("TC-NOPE")


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


def test_reading_before_the_schema_exists_gives_zeros(tmp_path: Path) -> None:
    store = TicketStore(f"sqlite:///{tmp_path / 'none.db'}")
    counts = store.counts()
    assert counts["tickets"] == 0 and counts["messages"] == 0
    assert store.list_tickets() == [] and store.ticket_stats()["tickets"] == 0
    assert store.list_replies() == []
    assert not (tmp_path / "none.db").exists()


@pytest.mark.parametrize(
    ("text", "brand"),
    [("@115712 @AmazonHelp where is it", "AmazonHelp"), ("@115712 hi", None), ("no handle", None)],
)
def test_brand_is_the_first_named_handle(text: str, brand: str | None) -> None:
    assert brand_of(text) == brand


def test_a_database_from_an_older_tweetcare_is_a_clear_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = TicketStore(url)
    with old.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE tickets (ticket_id TEXT PRIMARY KEY)")
    old.close()
    for action in (
        lambda store: store.create_schema(),
        lambda store: store.list_tickets(),
    ):
        with pytest.raises(UserError, match=r"older tweetcare .* lacks .*priority"):
            action(TicketStore(url))


def test_the_schema_compiles_for_postgres() -> None:
    """No SQLite-only types: the same tables work on a Postgres URL."""
    ddl = [
        str(CreateTable(t).compile(dialect=postgresql.dialect()))
        for t in Base.metadata.sorted_tables
    ]
    joined = "\n".join(ddl)
    assert "CREATE TABLE replies" in joined and "entities JSON" in joined
    assert "TIMESTAMP WITH TIME ZONE" in joined


TTL = timedelta(minutes=60)


def incident(
    alert_id: str,
    minutes_ago: float = 5,
    kind: str = "complaints",
    brand: str | None = "AppleSupport",
    category: str | None = "technical",
    conversation_id: str | None = None,
) -> Incident:
    """An escalation whose window ended `minutes_ago` (incidents live on the wall clock)."""
    seen = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return Incident(alert_id, kind, brand, category, conversation_id, seen)


def calm(tweet_id: str, conversation_id: str, minute: int, **fields: object) -> TicketEvent:
    """A customer who is not angry: the category's own level (technical, billing: normal)."""
    return customer(
        tweet_id, conversation_id, minute, sentiment="neutral", sentiment_score=0.0, **fields
    )


def without_incident_raise(routing: RoutingRules) -> RoutingRules:
    priority = routing.priority.model_copy(update={"incident_raise": 0})
    return routing.model_copy(update={"priority": priority})


def test_recording_an_incident_raises_the_open_tickets_in_its_scope_once(
    store: TicketStore, routing: RoutingRules, templates: ReplyTemplates
) -> None:
    events = [
        calm("1", "1", 10),  # AppleSupport, technical: in scope
        calm("2", "2", 10, category="billing"),  # another category
        calm("3", "3", 10, text="@AmazonHelp my kindle died"),  # another brand
        calm("4", "4", 10),
        brand_reply("5", "4", 12),  # answered: the customer is not waiting
    ]
    store.apply(events, routing, templates)
    assert routing.priority.incident_raise == 1

    outcome = store.record_incidents([incident("AL-1")], TTL, routing)

    assert (outcome.recorded, outcome.raised) == (1, 1)
    raised = store.get_ticket(ticket_id_for("1"))
    assert (raised.priority, raised.incident_alert_id) == ("high", "AL-1")
    assert (raised.sla_due_at - raised.opened_at) == timedelta(minutes=240)  # high's SLA
    assert raised.to_dict()["incident_alert_id"] == "AL-1"  # on the `tickets` topic too
    for conversation in ("2", "3", "4"):
        other = store.get_ticket(ticket_id_for(conversation))
        assert (other.priority, other.incident_alert_id) == ("normal", None)
    [entry] = audit.trail(store.engine, raised.ticket_id)
    assert (entry.actor, entry.action) == ("monitor", "raise")
    assert entry.detail.startswith("priority normal -> high: complaints incident AL-1")
    assert "brand=AppleSupport, category=technical" in entry.detail

    # the next run's alert for the same spike: the incident goes on, nobody is raised twice
    again = store.record_incidents([incident("AL-2", minutes_ago=1)], TTL, routing)
    assert (again.recorded, again.raised) == (1, 0)
    assert store.get_ticket(ticket_id_for("1")).priority == "high"
    [active] = store.active_incidents()
    assert (active.alert_id, active.brand, active.category) == ("AL-2", "AppleSupport", "technical")
    # the answered ticket: its customer writes again, the stream reopens and raises it
    store.apply([calm("6", "4", 20)], routing, templates)
    reopened = store.get_ticket(ticket_id_for("4"))
    assert (reopened.status, reopened.priority, reopened.incident_alert_id) == (
        "open",
        "high",
        "AL-2",
    )


def test_the_stream_raises_tickets_it_opens_or_updates_in_an_active_incident(
    store: TicketStore, routing: RoutingRules, templates: ReplyTemplates
) -> None:
    # a category-wide spike covers every brand's technical tickets
    store.record_incidents([incident("AL-9", brand=None)], TTL, routing)
    events = [
        calm("1", "1", 10),
        customer("2", "2", 10, text="@AmazonHelp my kindle died, furious"),  # angry: high
        customer("3", "3", 10, text="@AppleSupport my account was hacked"),  # urgent word
        calm("4", "4", 10, category="billing"),
    ]
    outcome = store.apply(events, routing, templates)
    assert (outcome.opened, outcome.raised) == (4, 3)
    priorities = {c: store.get_ticket(ticket_id_for(c)).priority for c in "1234"}
    assert priorities == {"1": "high", "2": "urgent", "3": "urgent", "4": "normal"}  # capped
    assert store.get_ticket(ticket_id_for("3")).incident_alert_id == "AL-9"
    assert store.get_ticket(ticket_id_for("4")).incident_alert_id is None
    [entry] = audit.trail(store.engine, ticket_id_for("2"))
    assert (entry.actor, entry.detail[:30]) == ("stream", "priority high -> urgent: compl")
    [capped] = audit.trail(store.engine, ticket_id_for("3"))
    assert capped.detail == "priority stays urgent: complaints incident AL-9 (category=technical)"

    # a follow-up keeps the raised level and is not raised again
    follow_up = store.apply([calm("5", "1", 20)], routing, templates)
    assert (follow_up.attached, follow_up.raised) == (1, 0)
    assert store.get_ticket(ticket_id_for("1")).priority == "high"


def test_an_expired_incident_raises_nothing(
    store: TicketStore, routing: RoutingRules, templates: ReplyTemplates
) -> None:
    store.apply([calm("1", "1", 10)], routing, templates)
    outcome = store.record_incidents([incident("AL-1", minutes_ago=61)], TTL, routing)
    assert (outcome.recorded, outcome.raised) == (1, 0)
    assert store.active_incidents() == []
    store.apply([calm("2", "2", 10), calm("3", "1", 20)], routing, templates)
    for conversation in ("1", "2"):
        ticket = store.get_ticket(ticket_id_for(conversation))
        assert (ticket.priority, ticket.incident_alert_id) == ("normal", None)
    assert audit.trail(store.engine, ticket_id_for("1")) == []


def test_with_the_rule_off_incidents_raise_nothing(
    store: TicketStore, routing: RoutingRules, templates: ReplyTemplates
) -> None:
    off = without_incident_raise(routing)
    store.apply([calm("1", "1", 10)], off, templates)
    assert store.record_incidents([incident("AL-1")], TTL, off).raised == 0
    assert store.apply([calm("2", "2", 10)], off, templates).raised == 0
    for conversation in ("1", "2"):
        ticket = store.get_ticket(ticket_id_for(conversation))
        assert (ticket.priority, ticket.incident_alert_id) == ("normal", None)
    # the incident is recorded all the same: turning the rule on raises from then on
    assert [i.alert_id for i in store.active_incidents()] == ["AL-1"]


def test_incidents_are_keyed_by_scope_and_the_window_they_started_in(
    store: TicketStore, routing: RoutingRules
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(hours=3)

    def seen(alert_id: str, at: datetime, brand: str = "AppleSupport") -> Incident:
        return Incident(alert_id, "complaints", brand, "technical", None, at)

    def rows() -> list[tuple[str, str, datetime, datetime]]:
        with store.engine.connect() as conn:
            found = conn.execute(select(IncidentRecord.__table__)).mappings()
            return sorted(
                (r["alert_id"], r["brand"], utc(r["first_seen"]), utc(r["last_seen"]))
                for r in found
            )

    assert store.record_incidents([seen("AL-1", start)], TTL, routing, now).recorded == 1
    # a repeat while it is active goes on in the same row; the same alert again changes nothing
    later = start + timedelta(minutes=30)
    assert store.record_incidents([seen("AL-2", later)], TTL, routing, now).recorded == 1
    assert store.record_incidents([seen("AL-2", later)], TTL, routing, now).recorded == 0
    assert store.record_incidents([seen("AL-1", start)], TTL, routing, now).recorded == 0
    assert rows() == [("AL-2", "AppleSupport", start, later)]
    # after it expired, the scope's next spike is a new incident; the old one stays on record
    again = now - timedelta(minutes=10)
    other = seen("AL-4", later, brand="AmazonHelp")
    assert store.record_incidents([seen("AL-3", again), other], TTL, routing, now).recorded == 2
    assert rows() == [
        ("AL-2", "AppleSupport", start, later),
        ("AL-3", "AppleSupport", again, again),
        ("AL-4", "AmazonHelp", later, later),
    ]
    assert store.incident_counts(now) == {"incidents": 3, "active": 1}
    assert [i.alert_id for i in store.active_incidents(now)] == ["AL-3"]
