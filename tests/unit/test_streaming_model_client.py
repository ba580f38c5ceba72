"""The HTTP client for the model server, against httpx's mock transport (no server at all)."""

from __future__ import annotations

import json

import httpx
import pytest

from streaming.model_client import ModelServerError, analyze, classify, model_info

URL = "http://model.invalid"


def answer(texts: list[str]) -> list[dict[str, object]]:
    return [
        {"label": "inbound", "inbound": True, "probability": 0.8, "inbound_probability": 0.8}
        for _ in texts
    ]


def client_with(handler: httpx.MockTransport) -> httpx.Client:
    return httpx.Client(transport=handler)


def test_texts_go_in_chunks_and_come_back_in_order() -> None:
    sizes: list[int] = []

    def handle(request: httpx.Request) -> httpx.Response:
        texts = json.loads(request.content)["texts"]
        sizes.append(len(texts))
        return httpx.Response(200, json=answer(texts))

    results = classify(
        ["a", "b", "c"], URL, max_texts=2, client=client_with(httpx.MockTransport(handle))
    )
    assert sizes == [2, 1]
    assert len(results) == 3 and all(r.label == "inbound" for r in results)


def test_5xx_and_connection_errors_are_retried() -> None:
    replies = iter(["refuse", "503"])

    def handle(request: httpx.Request) -> httpx.Response:
        step = next(replies, "ok")
        if step == "refuse":
            raise httpx.ConnectError("refused", request=request)
        if step == "503":
            return httpx.Response(503, text="loading")
        return httpx.Response(200, json=answer(json.loads(request.content)["texts"]))

    client = client_with(httpx.MockTransport(handle))
    assert len(classify(["a"], URL, 10, attempts=3, backoff_s=0, client=client)) == 1


def test_a_server_that_stays_down_raises_instead_of_answering() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = client_with(httpx.MockTransport(handle))
    with pytest.raises(ModelServerError, match="failed after 2 attempts"):
        classify(["a"], URL, 10, attempts=2, backoff_s=0, client=client)


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (422, {"error": "too long"}, "refused the request: HTTP 422"),
        (200, [{"label": "maybe"}], "unexpected shape"),
        (200, [], "0 results for 1 texts"),
    ],
)
def test_unusable_answers_raise(status: int, body: object, message: str) -> None:
    client = client_with(httpx.MockTransport(lambda _r: httpx.Response(status, json=body)))
    with pytest.raises(ModelServerError, match=message):
        classify(["a"], URL, 10, attempts=1, client=client)


def test_model_info_returns_the_servers_object() -> None:
    info = {"name": "tweet-inbound", "version": "3", "run_id": "r", "alias": "champion"}
    client = client_with(httpx.MockTransport(lambda _r: httpx.Response(200, json=info)))
    assert model_info(URL, client=client) == info


def test_analyze_posts_to_analyze_and_parses_the_contract() -> None:
    routes: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        routes.append(request.url.path)
        texts = json.loads(request.content)["texts"]
        body = [
            {
                "inbound": True,
                "inbound_probability": 0.9,
                "sentiment": "negative",
                "sentiment_score": -0.5,
                "category": "billing",
                "category_confidence": 0.8,
                "entities": [{"start": 0, "end": 3, "label": "AMOUNT", "text": "$40"}],
                "needs_ticket": True,
                "masked_text": text,
                "models": {"tweet-category": "2 (r)"},
            }
            for text in texts
        ]
        return httpx.Response(200, json=body)

    client = client_with(httpx.MockTransport(handle))
    results = analyze(["$40 charged", "b", "c"], URL, max_texts=2, client=client)
    assert routes == ["/analyze", "/analyze"]
    assert [r.masked_text for r in results] == ["$40 charged", "b", "c"]
    assert results[0].entities[0].label == "AMOUNT" and results[0].category == "billing"


def test_an_analysis_without_the_required_fields_is_refused() -> None:
    body = [{"inbound": True, "inbound_probability": 0.9}]  # no needs_ticket, no masked_text
    client = client_with(httpx.MockTransport(lambda _r: httpx.Response(200, json=body)))
    with pytest.raises(ModelServerError, match="/analyze answered an unexpected shape"):
        analyze(["a"], URL, 10, attempts=1, client=client)
