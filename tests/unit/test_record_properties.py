"""Whatever bytes arrive on `tweets`, each record becomes exactly one valid lake row or exactly
one dead letter, and nothing raises: the executors' record path under hypothesis.

The model server is a pure stand-in function here (the analysis of a text is not what is under
test); the ticket store is a real SQLite database.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from streaming import lake
from streaming.batch import JobContext, PartitionProcessor
from streaming.lake import Lineage
from streaming.records import KafkaRecord
from tweetcare.core.pii import mask_pii
from tweetcare.core.schemas import Analysis
from tweetcare.core.settings import Settings
from tweetcare.tickets import TicketStore
from tweetcare.tickets.replies import load_replies
from tweetcare.tickets.routing import load_routing

WHEN = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=20,
)
dates = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.strftime("%a %b %d %H:%M:%S %z %Y")),
    st.from_regex(r"\A[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d [+-]\d{4} \d{1,6}\Z"),
    json_values,
)
ids = st.one_of(st.text(min_size=1, max_size=30), st.integers(), json_values)
tweets = st.fixed_dictionaries(
    {
        "tweet_id": ids,
        "author_id": ids,
        "inbound": st.one_of(st.booleans(), st.sampled_from(["True", "False"]), json_values),
        "created_at": dates,
        "text": st.one_of(st.text(min_size=1), json_values),
        "conversation_id": ids,
    },
    optional={"response_tweet_id": ids, "in_response_to_tweet_id": ids, "extra": json_values},
)
values = st.one_of(
    st.none(),
    st.binary(max_size=2048),
    json_values.map(lambda v: json.dumps(v).encode()),
    tweets.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass")),
)


def stand_in_analysis(text: str) -> Analysis:
    inbound = "@" in text
    return Analysis(
        inbound=inbound,
        inbound_probability=0.9 if inbound else 0.1,
        needs_ticket=inbound,
        category="delivery" if inbound else None,
        category_confidence=0.9 if inbound else None,
        sentiment="negative" if inbound else None,
        sentiment_score=-0.5 if inbound else None,
        masked_text=mask_pii(text),
    )


@pytest.fixture(scope="module")
def processor() -> Any:
    with tempfile.TemporaryDirectory() as folder:
        db = f"sqlite:///{Path(folder) / 'tickets.db'}"
        settings = Settings(tickets_db_url=db, lake_dir=Path(folder) / "lake")
        store = TicketStore(db)
        store.create_schema()
        context = JobContext(
            settings,
            load_routing(settings.routing_config),
            load_replies(settings.replies_config),
            "prop",
        )
        yield PartitionProcessor(
            context,
            store,
            lambda texts: [stand_in_analysis(t) for t in texts],
            lambda: Lineage("tweet-inbound", "1", "v1"),
        )
        store.close()


OFFSETS = iter(range(10**9))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=values)
@example(value=b"[" * 20_000 + b"]" * 20_000)  # nested deeper than Python's recursion limit
@example(value=b'{"a":' * 5_000 + b"1" + b"}" * 5_000)
@example(value=b"1" * 5_000)  # an integer longer than Python's digit limit
@example(value=b"x" * (1024 * 1024))  # one megabyte
@example(
    value=json.dumps(
        {
            "tweet_id": "1",
            "author_id": "2",
            "inbound": True,
            "created_at": "Mon Jan 01 00:00:00 +0100 0001",  # leaves datetime's range in UTC
            "text": "@A help",
            "conversation_id": "1",
        }
    ).encode()
)
@example(value=b'{"tweet_id": "1", "created_at": "Tue Oct 31 22:10:47 +0000 99999"}')
def test_each_record_becomes_one_valid_row_or_one_dead_letter(
    processor: PartitionProcessor, value: bytes | None
) -> None:
    offset = next(OFFSETS)
    record = KafkaRecord(b"k", value, "tweets", 0, offset, WHEN)
    result = processor.process(1, [record])

    tweets = [r for r in result.rows if r["kind"] == lake.KIND_TWEET]
    dead = [r for r in result.rows if r["kind"] == lake.KIND_DEAD]
    assert len(tweets) + len(dead) == 1
    lake.output_batch(result.rows)  # Spark gets every row in the declared schema
    if tweets:
        [row] = tweets
        assert row["kafka_offset"] == offset
        pa.RecordBatch.from_pylist([lake_row(row, lake.TWEET_SCHEMA)], schema=lake.TWEET_SCHEMA)
    else:
        [row] = dead
        assert row["offset"] == offset and row["reason"]
        letter = lake_row(row, lake.DEAD_LETTER_SCHEMA)
        pa.RecordBatch.from_pylist([letter], schema=lake.DEAD_LETTER_SCHEMA)
        if value is not None and row["raw_encoding"] == "utf-8":
            assert row["raw"] == mask_pii(value.decode("utf-8"))
    assert result.stats is not None and result.stats.n_messages == 1


def lake_row(row: dict[str, Any], schema: pa.Schema) -> dict[str, Any]:
    return {name: row[name] for name in schema.names}
