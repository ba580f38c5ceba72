"""The request-timeout fix for BentoML's TimeoutMiddleware, on the real middleware class."""

from __future__ import annotations

import asyncio
from typing import Any

from bentoml._internal.server.http.traffic import TimeoutMiddleware

from serving.bentoml_fixes import cancel_request_timers

SCOPE = {"type": "http", "method": "POST", "path": "/classify", "headers": []}


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _serve(delay: float, timeout: float) -> tuple[list[dict[str, Any]], int]:
    """One request through the middleware: what it sent, and how many of its timeout timers
    are still armed afterwards."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(delay)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await TimeoutMiddleware(app, timeout=timeout)(SCOPE, _receive, send)
    scheduled = asyncio.get_running_loop()._scheduled  # type: ignore[attr-defined]
    timers = [h for h in scheduled if getattr(h._callback, "__name__", "") == "_set_timer_out"]
    return sent, sum(not handle.cancelled() for handle in timers)


def test_a_request_leaves_no_timer_armed_once_it_is_answered() -> None:
    cancel_request_timers()
    sent, armed = asyncio.run(_serve(delay=0.0, timeout=60.0))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 200
    assert armed == 0  # BentoML 1.4.39 kept this one for 60 s, with the request's objects


def test_a_request_past_the_timeout_still_gets_a_504() -> None:
    cancel_request_timers()
    sent, armed = asyncio.run(_serve(delay=1.0, timeout=0.05))
    assert sent[0]["status"] == 504
    assert b"Not able to process the request in 0.05 seconds" in sent[1]["body"]
    assert armed == 0
