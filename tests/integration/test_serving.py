"""The real `bentoml serve` process against a real (sqlite) MLflow registry."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import mlflow
import pytest

from serving.launcher import server, start_server, stop_server
from tests.fixtures.bento import free_port, synthetic_features
from tests.fixtures.registry import register_challenger
from training.baseline import train_baseline
from training.pyfunc import log_sklearn_pyfunc
from training.registry import register_and_promote
from tweetcare.core.params import BaselineParams, RegisterParams
from tweetcare.core.settings import Settings
from tweetcare.process import ServiceError

pytestmark = pytest.mark.integration

MAX_TEXTS = 8
MAX_CHARS = 200


@pytest.fixture(scope="module")
def champion_registry(tmp_path_factory: pytest.TempPathFactory) -> str:
    uri = f"sqlite:///{tmp_path_factory.mktemp('registry') / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("tweet-inbound")
    params = BaselineParams(C=4.0, max_features=5000, ngram_max=2, min_df=1)
    model = train_baseline(synthetic_features(300), params)
    with mlflow.start_run() as run:
        info = log_sklearn_pyfunc(model, mask_handles=True)
    gate = RegisterParams(model_name="tweet-inbound", min_tweets_per_second=1, latency_batch=16)
    register_and_promote(info.model_uri, run.info.run_id, synthetic_features(100, 5), gate)
    register_challenger("tweet-inbound")
    mlflow.set_tracking_uri(None)
    return uri


@pytest.fixture(scope="module")
def url(bento_server: Callable[..., str], champion_registry: str) -> str:
    return bento_server(
        champion_registry,
        TWEETCARE_CLASSIFY_MAX_TEXTS=str(MAX_TEXTS),
        TWEETCARE_CLASSIFY_MAX_CHARS=str(MAX_CHARS),
    )


def test_classify_answers_a_list_in_order(url: str) -> None:
    texts = ["@AmazonHelp my package never arrived", "@12345 Sorry to hear that! Please DM us ^JK"]
    response = httpx.post(f"{url}/classify", json={"texts": texts}, timeout=30)
    assert response.status_code == 200
    body = response.json()
    assert [row["label"] for row in body] == ["inbound", "outbound"]
    assert set(body[0]) == {"label", "inbound", "probability", "inbound_probability", "shadow"}
    assert body[0]["inbound"] is True and 0.5 <= body[0]["probability"] <= 1.0
    # the challenger scored the same texts in shadow, with its own version
    for row in body:
        assert row["shadow"]["model_version"] == "2"
        assert 0.0 <= row["shadow"]["inbound_probability"] <= 1.0
        assert row["shadow"]["inbound"] == (row["shadow"]["inbound_probability"] >= 0.5)


def test_model_info_names_the_champion(url: str) -> None:
    for response in (httpx.post(f"{url}/model_info"), httpx.get(f"{url}/model_info")):
        assert response.status_code == 200
        info = response.json()
        assert info["name"] == "tweet-inbound" and info["alias"] == "champion"
        assert info["version"] == "1" and info["run_id"]
        assert info["shadow"]["alias"] == "challenger" and info["shadow"]["version"] == "2"


def test_without_analysis_models_classify_works_and_analyze_says_why(url: str) -> None:
    # this registry holds only the inbound models: /analyze names what is missing and how to
    # train it, and /classify is unaffected
    text = "@AmazonHelp my order #1234567 never arrived!!"
    assert httpx.post(f"{url}/classify", json={"texts": [text]}, timeout=60).status_code == 200
    response = httpx.post(f"{url}/analyze", json={"texts": [text]}, timeout=60)
    assert response.status_code == 503
    info = httpx.get(f"{url}/model_info", timeout=30).json()
    assert "tweet-sentiment" in info["analyze_unavailable"]
    assert "train_analysis" in info["analyze_unavailable"]


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        ([], "texts is empty"),
        (["fine", "   "], "texts[1] is empty"),
        (["x"] * (MAX_TEXTS + 1), "too many texts"),
        (["x" * (MAX_CHARS + 1)], "characters >"),
    ],
)
def test_bad_input_gets_4xx_with_a_clear_message(url: str, texts: list[str], message: str) -> None:
    response = httpx.post(f"{url}/classify", json={"texts": texts}, timeout=30)
    assert 400 <= response.status_code < 500
    assert message in response.text


def test_malformed_body_is_4xx(url: str) -> None:
    for body in ({}, {"texts": [1, 2]}, {"texts": "not a list"}):
        assert 400 <= httpx.post(f"{url}/classify", json=body).status_code < 500


def test_concurrent_single_requests_are_batched(url: str) -> None:
    async def fire() -> list[int]:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            calls = [
                client.post("/classify", json={"texts": [f"@Delta flight {i} late"]})
                for i in range(200)
            ]
            return [r.status_code for r in await asyncio.gather(*calls)]

    assert set(asyncio.run(fire())) == {200}
    stats = httpx.post(f"{url}/stats").json()
    assert stats["max_batch_size"] > 1
    assert stats["batches"] < stats["texts"]


def test_a_bad_request_among_concurrent_ones_fails_alone(url: str) -> None:
    # requests are checked one by one before the dispatcher merges them into one model call:
    # a blank text is refused with its reason, and the requests batched beside it are answered
    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            bodies = [{"texts": [f"@Delta flight {i} is late again"]} for i in range(60)]
            bodies.insert(30, {"texts": ["@Delta where is my bag", "   "]})
            return await asyncio.gather(*(client.post("/classify", json=b) for b in bodies))

    responses = asyncio.run(fire())
    bad = responses.pop(30)
    assert bad.status_code == 400 and "texts[1] is empty" in bad.text
    assert {r.status_code for r in responses} == {200}
    # each merged request gets back exactly its own one answer
    assert all(len(r.json()) == 1 for r in responses)
    assert {r.json()[0]["label"] for r in responses} <= {"inbound", "outbound"}


def test_a_server_not_ready_in_time_is_stopped_not_left_behind(
    tmp_path: Path, champion_registry: str
) -> None:
    settings = Settings(
        mlflow_tracking_uri=champion_registry, bento_port=free_port(), state_dir=tmp_path / "state"
    )
    try:
        # BentoML needs seconds to start: one second is never enough
        with pytest.raises(ServiceError, match="not ready after 1s"):
            start_server(settings, extra_env={"BENTOML_HOME": str(tmp_path / "bentoml")}, timeout=1)
        assert not server(settings).is_running()
    finally:
        stop_server(settings)


def test_missing_champion_fails_at_start_with_a_clear_line(tmp_path: Path) -> None:
    settings = Settings(
        mlflow_tracking_uri=f"sqlite:///{tmp_path / 'empty.db'}",
        bento_port=free_port(),
        state_dir=tmp_path / "state",
    )
    try:
        with pytest.raises(ServiceError, match="no model registered as tweet-inbound@champion"):
            start_server(settings, extra_env={"BENTOML_HOME": str(tmp_path / "bentoml")})
    finally:
        stop_server(settings)
