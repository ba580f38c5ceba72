"""/analyze on the real `bentoml serve`, with all four models registered in a sqlite MLflow.

The registry is the session's `full_registry` (tests/fixtures/registry.py), which the stream
tests serve too: the analysis models come from the real `train_analysis` stage function run on
a few thousand generated tweets, the inbound model from the baseline trainer. A server without
the analysis models is tested in test_serving.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from tweetcare.core.schemas import CATEGORIES, ENTITY_LABELS, Analysis

pytestmark = pytest.mark.integration

ANALYSIS_NAMES = ("tweet-sentiment", "tweet-category", "tweet-entities")
CUSTOMER = "@AmazonHelp my order #1234567 never arrived!! call me on 855-741-8038 please"
BRAND = "@115712 Sorry to hear that! Please DM us your order number ^JK"


@pytest.fixture(scope="module")
def url(bento_server: Callable[..., str], full_registry: str) -> str:
    return bento_server(full_registry, HF_HUB_OFFLINE="1")


def analyze(url: str, texts: list[str]) -> list[Analysis]:
    response = httpx.post(f"{url}/analyze", json={"texts": texts}, timeout=120)
    assert response.status_code == 200, response.text
    return [Analysis.model_validate(item) for item in response.json()]


def test_customer_tweet_gets_every_field(url: str) -> None:
    customer, brand = analyze(url, [CUSTOMER, BRAND])
    assert customer.inbound and 0.5 <= customer.inbound_probability <= 1.0
    assert customer.sentiment in ("negative", "neutral", "positive")
    assert customer.sentiment_score is not None and -1.0 <= customer.sentiment_score <= 1.0
    assert customer.category in CATEGORIES
    assert customer.category_confidence is not None and 0 <= customer.category_confidence <= 1
    assert customer.language == "en" and customer.flags == []
    labels = {(e.label, e.text) for e in customer.entities}
    assert ("ORDER_ID", "#1234567") in labels and ("PHONE", "<phone>") in labels
    assert all(e.label in ENTITY_LABELS for e in customer.entities)
    assert "8038" not in customer.masked_text and "<phone>" in customer.masked_text
    assert isinstance(customer.needs_ticket, bool)
    assert set(customer.models) == {"tweet-inbound", *ANALYSIS_NAMES}
    assert all("(run " in lineage for lineage in customer.models.values())
    # the brand reply skips the customer analysis
    assert not brand.inbound and brand.sentiment is None and brand.category is None
    assert brand.entities == [] and brand.needs_ticket is False
    assert set(brand.models) == {"tweet-inbound"}


def test_answers_keep_order_and_count_across_batches(url: str) -> None:
    texts = [f"@AmazonHelp parcel {i} is late, where is it?" for i in range(70)] + [BRAND]
    answers = analyze(url, texts)
    assert len(answers) == len(texts)
    assert [a.masked_text for a in answers] == texts


def test_model_info_lists_every_model_with_its_data_version(url: str) -> None:
    for response in (httpx.post(f"{url}/model_info"), httpx.get(f"{url}/model_info")):
        info = response.json()
        assert info["name"] == "tweet-inbound" and info["alias"] == "champion"
        assert set(info["models"]) == {"tweet-inbound", *ANALYSIS_NAMES}
        for name in ANALYSIS_NAMES:
            model = info["models"][name]
            assert model["version"] == "1" and model["run_id"] and model["data_version"]


@pytest.mark.parametrize(
    ("texts", "message"),
    [([], "texts is empty"), (["fine", "  "], "texts[1] is empty"), (["x" * 5000], "characters")],
)
def test_bad_input_gets_4xx(url: str, texts: list[str], message: str) -> None:
    response = httpx.post(f"{url}/analyze", json={"texts": texts}, timeout=30)
    assert 400 <= response.status_code < 500
    assert message in response.text


def test_cli_writes_one_json_line_per_row(url: str, tmp_path: Path) -> None:
    csv = tmp_path / "twcs.csv"
    csv.write_text(
        "tweet_id,author_id,inbound,text\n"
        f'10,115712,True,"{CUSTOMER}"\n'
        f'11,AmazonHelp,False,"{BRAND}"\n'
    )
    port = str(urlparse(url).port)
    env = {**os.environ, "TWEETCARE_BENTO_PORT": port, "TWEETCARE_BENTO_HOST": "127.0.0.1"}
    tweetcare = str(Path(sys.executable).with_name("tweetcare"))
    result = subprocess.run(
        [tweetcare, "analyze", "--input", str(csv), "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["tweet_id"] for line in lines] == ["10", "11"]
    assert list(lines[0]) == [
        "tweet_id",
        "inbound",
        "sentiment",
        "category",
        "entities",
        "needs_ticket",
    ]
    assert lines[0]["inbound"] is True and lines[1]["inbound"] is False
