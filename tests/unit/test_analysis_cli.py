"""`tweetcare analyze`: JSON lines per CSV row, a clear line when the server is down."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pandas as pd
import pytest

from tweetcare.cli.analyze import JSON_FIELDS, analyze_rows, json_line, post_analyze, read_rows
from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings


def fake_server(request: httpx.Request) -> httpx.Response:
    """Answers /analyze like the real server: one object per text, brand replies skipped."""
    texts = json.loads(request.content)["texts"]
    answers = []
    for text in texts:
        customer = not text.startswith("@1")
        answers.append(
            {
                "inbound": customer,
                "inbound_probability": 0.9 if customer else 0.1,
                "sentiment": "negative" if customer else None,
                "category": "delivery" if customer else None,
                "entities": [],
                "needs_ticket": customer,
                "masked_text": text,
            }
        )
    return httpx.Response(200, json=answers)


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "twcs.csv"
    pd.DataFrame(
        {
            "tweet_id": ["1", "2", "3", "4"],
            "author_id": ["115712", "Brand", "115713", "115714"],
            "text": ["@Brand where is my parcel", "@115712 Sorry! DM us", "   ", "@Brand hi"],
        }
    ).to_csv(path, index=False)
    return path


def test_csv_rows_become_json_lines_in_order(csv_file: Path) -> None:
    settings = Settings(classify_max_texts=2)  # two requests for three non-blank rows
    with httpx.Client(transport=httpx.MockTransport(fake_server)) as client:
        rows = read_rows(csv_file, limit=None)
        lines = [json_line(t, a) for t, _, a in analyze_rows(rows, settings, client)]
    records = [json.loads(line) for line in lines]
    assert [r["tweet_id"] for r in records] == ["1", "2", "4"]  # the blank row is skipped
    assert all(tuple(r) == JSON_FIELDS for r in records)
    assert records[0]["needs_ticket"] is True and records[1]["sentiment"] is None


def test_server_down_says_how_to_start_it() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = httpx.Client(transport=httpx.MockTransport(refuse))
    with client, pytest.raises(UserError, match="tweetcare serve start"):
        post_analyze(["hi"], Settings(), client)


def test_server_error_is_one_clear_line() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(500, text="boom"))
    client = httpx.Client(transport=transport)
    with client, pytest.raises(UserError, match="HTTP 500: boom"):
        post_analyze(["hi"], Settings(), client)


def test_server_without_analysis_models_says_what_to_run() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(503, text="{}"))
    client = httpx.Client(transport=transport)
    with client, pytest.raises(UserError, match="dvc repro train_analysis"):
        post_analyze(["hi"], Settings(), client)


def test_csv_without_text_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("tweet_id,body\n1,hello\n")
    with pytest.raises(UserError, match="lacks column"):
        read_rows(path, limit=None)
    with pytest.raises(UserError, match="not found"):
        read_rows(tmp_path / "missing.csv", limit=None)
