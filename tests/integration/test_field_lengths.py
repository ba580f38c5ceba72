"""Field lengths are checked once, in the message schema, so the two ticket stores behave alike:
on SQLite (which keeps any length) and on a real PostgreSQL (which refuses more than a column's
`String(64)`), a tweet with a 100-character @handle keeps its ticket and its lake row, a tweet
with a too-long id is a dead letter with its reason, and a text longer than the models read is
kept with a mark and a flag, never cut without a word."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import text

from streaming import lake
from streaming.batch import TRUNCATION_MARK, JobContext, score_partitions
from tests.unit.test_streaming_batch import Output, message, model_port, records  # noqa: F401
from tweetcare.cluster import postgres
from tweetcare.cluster.layout import TICKETS_DB, Layout
from tweetcare.cluster.topology import delete
from tweetcare.core.schemas import HANDLE_MAX_CHARS, ID_MAX_CHARS
from tweetcare.core.settings import Settings
from tweetcare.tickets import TicketStore
from tweetcare.tickets.audit import AuditBase
from tweetcare.tickets.models import Base, brand_of, ticket_id_for
from tweetcare.tickets.replies import load_replies
from tweetcare.tickets.routing import load_routing

pytestmark = pytest.mark.integration

LONG_HANDLE = "@" + "b" * 100


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real PostgreSQL (the cluster's own), its tickets database emptied for each use."""
    root = tmp_path_factory.mktemp("pg") / ".tweetcare" / "cluster"
    layout = Layout.create(root)
    postgres.start(layout)
    try:
        yield layout.postgres_url(TICKETS_DB)
    finally:
        delete(root, log=lambda _line: None)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tickets.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    store = TicketStore(url)
    with store.engine.begin() as connection:
        Base.metadata.drop_all(connection)
        AuditBase.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    store.close()
    yield url


def run(tmp_path: Path, port: int, url: str, values: list[bytes], max_chars: int) -> Output:
    settings = Settings(
        state_dir=tmp_path / "state",
        lake_dir=tmp_path / "lake",
        tickets_db_url=url,
        bento_port=port,
        classify_max_chars=max_chars,
    )
    TicketStore(url).create_schema()
    context = JobContext(
        settings, load_routing(settings.routing_config), load_replies(settings.replies_config), "s1"
    )
    arrow = pa.RecordBatch.from_pylist(
        [
            {
                "key": r.key,
                "value": r.value,
                "topic": r.topic,
                "partition": r.partition,
                "offset": r.offset,
                "timestamp_us": int(r.timestamp.timestamp() * 1e6) if r.timestamp else None,
            }
            for r in records(values)
        ]
    )
    out = list(score_partitions(context, 1)(iter([arrow])))
    return Output([row for b in out for row in b.to_pylist()])


def test_long_handles_long_ids_and_long_texts_fare_alike_on_both_stores(
    tmp_path: Path,
    model_port: int,  # noqa: F811
    store_url: str,
) -> None:
    long_text = "@AppleSupport help, my order never came. " + "It is late. " * 30
    output = run(
        tmp_path,
        model_port,
        store_url,
        [
            message("1", "1", f"{LONG_HANDLE} help, my order is late"),
            message("x" * (ID_MAX_CHARS + 1), "2", "@AppleSupport help please"),
            message("3", "3", long_text),
        ],
        max_chars=200,
    )
    tweets = output.tweets()
    assert sorted(tweets) == ["1", "3"]
    (letter,) = output.of(lake.KIND_DEAD)
    assert letter["reason"] == (
        f"invalid message: tweet_id: String should have at most {ID_MAX_CHARS} characters"
    )

    store = TicketStore(store_url)
    try:
        ticket = store.get_ticket(ticket_id_for("1"))  # kept: no brand is better than no ticket
        assert ticket.brand is None
        assert tweets["1"]["brand"] == lake.UNKNOWN_BRAND
        cut = store.get_ticket(ticket_id_for("3"))
        assert cut.text == long_text[:200] + TRUNCATION_MARK
    finally:
        store.close()
    assert tweets["3"]["text_truncated"] is True and tweets["1"]["text_truncated"] is False
    assert tweets["3"]["text"].endswith(TRUNCATION_MARK)
    (dlq,) = [m for _, m in output.on(Settings().topic_dlq)]
    assert dlq["reason"] == letter["reason"]  # the field and the problem, never the value


def test_a_handle_is_at_most_as_long_as_the_column_that_keeps_it() -> None:
    assert brand_of(f"{LONG_HANDLE} @AppleSupport help") == "AppleSupport"
    assert brand_of(f"@{'a' * HANDLE_MAX_CHARS} help") == "a" * HANDLE_MAX_CHARS
    assert brand_of(f"{LONG_HANDLE} help") is None
