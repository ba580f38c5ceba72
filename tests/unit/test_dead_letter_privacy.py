"""Personal data stays out of dead-letter reasons and logs: a refusal by the model server or the
ticket store is named by its status, class and codes, never by the text it quotes, and the
ticket store's engine never logs or raises with its statements' parameters."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from streaming import lake
from streaming.batch import JobContext, PartitionProcessor
from streaming.lake import lineage_of
from streaming.model_client import ModelServerError, Refused, analyze
from tests.unit.test_streaming_batch import (
    MODEL_INFO,
    StandInModel,
    message,
    records,
    settings_for,
)
from tweetcare.core.schemas import Analysis
from tweetcare.tickets import TicketStore
from tweetcare.tickets.engine import make_engine
from tweetcare.tickets.replies import load_replies
from tweetcare.tickets.routing import load_routing

# what a customer may write that no pattern masks: a name and a street
PERSONAL = "Jane Doe, 12 Acacia Avenue"


def bentoml_400(texts: list[str]) -> dict[str, Any]:
    """The body BentoML answers when a request fails validation: Pydantic's message, which
    repeats the input."""
    return {
        "error": "1 validation error for Input\ntexts\n  Value error, texts[0] has 2500 "
        f"characters > 2000 allowed [type=value_error, input_value={texts!r}, "
        "input_type=list]"
    }


def model_server(answer: Any) -> httpx.Client:
    """A model server that answers every request with `answer(texts)` -> (status, body)."""

    def handle(request: httpx.Request) -> httpx.Response:
        texts = json.loads(request.content)["texts"]
        status, body = answer(texts)
        return httpx.Response(status, json=body)

    return httpx.Client(transport=httpx.MockTransport(handle))


def test_a_refused_text_is_named_by_status_and_error_code_not_by_the_servers_body() -> None:
    client = model_server(lambda texts: (400, bentoml_400(texts)))
    [refused] = analyze([f"@AppleSupport help, I am {PERSONAL}"], "http://model", 8, client=client)
    assert refused == Refused("the model server refused it: HTTP 400 (value_error)")


def test_a_failing_server_is_named_without_the_texts_its_body_repeats() -> None:
    client = model_server(lambda texts: (500, {"error": f"model failed on {texts}"}))
    with pytest.raises(ModelServerError) as failed:
        analyze([f"help, I am {PERSONAL}"], "http://model", 8, wait_s=0.0, client=client)
    assert "HTTP 500" in str(failed.value) and "Jane" not in str(failed.value)


def test_a_record_the_ticket_store_refuses_is_dead_lettered_without_its_values(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(tmp_path, 1)
    store = TicketStore(settings.tickets_db_url)
    store.create_schema()
    # a database that quotes the row it refuses, as PostgreSQL's "Failing row contains (...)"
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TRIGGER refuse_jane BEFORE INSERT ON tickets "
                "WHEN NEW.text LIKE '%Jane Doe%' "
                f"BEGIN SELECT RAISE(ABORT, 'Failing row contains ({PERSONAL})'); END"
            )
        )
    context = JobContext(
        settings, load_routing(settings.routing_config), load_replies(settings.replies_config), "s"
    )

    def analyzer(texts: list[str]) -> list[Analysis]:
        return [Analysis(**StandInModel._analyze(t)) for t in texts]

    batch = records(
        [
            message("1", "1", "@AppleSupport help, my order #112-99812 is late"),
            message("2", "2", f"@AppleSupport help, I am {PERSONAL} and my order is late"),
        ]
    )
    caplog.set_level(logging.INFO)
    processor = PartitionProcessor(context, store, analyzer, lambda: lineage_of(MODEL_INFO))
    result = processor.process(3, batch)
    store.close()

    assert [r["tweet_id"] for r in result.rows if r["kind"] == lake.KIND_TWEET] == ["1"]
    [dead] = [r for r in result.rows if r["kind"] == lake.KIND_DEAD]
    assert dead["offset"] == 1
    assert dead["reason"] == (
        "ticket store refused it: IntegrityError (code SQLITE_CONSTRAINT_TRIGGER)"
    )
    assert "bulk ticket upsert failed" in caplog.text
    assert "Jane" not in caplog.text and "Acacia" not in caplog.text


def test_the_engine_never_logs_or_raises_with_its_parameters(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    rows = [{"id": n, "body": f"{PERSONAL} #{n}"} for n in range(50)]
    # statement logging on, as someone debugging the store would turn it on
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
        conn.execute(text("INSERT INTO notes (id, body) VALUES (:id, :body)"), rows)
    with pytest.raises(IntegrityError) as refused, engine.begin() as conn:
        conn.execute(text("INSERT INTO notes (id, body) VALUES (:id, :body)"), rows[:2])
    engine.dispose()
    assert "INSERT INTO notes" in caplog.text  # statements are logged...
    assert "Jane" not in caplog.text  # ...their parameters are not
    assert "Jane" not in str(refused.value)
