"""The model server: `bentoml serve serving.service:TweetClassifier`.

Two services. `TweetClassifier` is the public face and holds the inbound model: its batchable
`/classify` lets BentoML's dispatcher merge many concurrent small requests into one model call,
in the same process, so a single-tweet request costs one HTTP exchange, not two. Each request is
still checked on its own, by the `Texts` type, before the dispatcher merges it. `/analyze` scores
its texts with the inbound model, then sends only the customer tweets on to `AnalysisModels`
(sentiment, category + flags, entities), a worker process of its own so the heavy models never
hold up `/classify`.

The models are whatever the MLflow registry holds under their aliases; any pyfunc with the
output contract works, so a new champion needs a restart, not new code.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

import anyio
import bentoml
from bentoml.exceptions import ServiceUnavailable
from bentoml.validators import ContentType
from fastapi import FastAPI
from pydantic import AfterValidator

from serving.analysis import compose, customer_fields, lineage
from serving.bentoml_fixes import cancel_request_timers
from serving.config import AnalysisSettings, BatchingSettings
from serving.models import InboundScorer, ModelNotRegisteredError, freeze_loaded, load_registered
from serving.validation import chunks, classify_input_problem
from tweetcare.core.contract import ANALYZE_UNAVAILABLE_KEY
from tweetcare.core.schemas import Analysis, Classification
from tweetcare.core.settings import get_settings

with bentoml.importing():
    import mlflow
    import pandas as pd

logger = logging.getLogger("tweetcare.serving")
cancel_request_timers()
BATCHING = BatchingSettings()
ANALYSIS = AnalysisSettings()
LIMITS = get_settings()
info_app = FastAPI(title="tweetcare model info")
# BentoML 1.4.39's dependency client replaces its HTTP session every `max_requests` calls (default
# 100) and closes the old one under requests still in flight: under concurrent load those fail
# with "Connector is closed" (HTTP 500). Limits this large mean the session is never replaced.
NEVER_REFRESH = {"max_requests": 2**31 - 1, "max_age": float(10**9)}


def _checked(texts: list[str]) -> list[str]:
    """One request's texts, refused (HTTP 400, with the reason) unless they can be scored."""
    problem = classify_input_problem(texts, LIMITS.classify_max_texts, LIMITS.classify_max_chars)
    if problem:
        raise ValueError(problem)
    return texts


# the body of /classify and /analyze: {"texts": [...]}, checked per request
Texts = Annotated[list[str], AfterValidator(_checked)]
# every answer is JSON. Said up front, because BentoML 1.4.39 otherwise works the media type out
# of the answer's JSON schema, generated anew for every response: with it, that was half of the
# public worker's CPU under 64 single-tweet clients (py-spy)
JSON = ContentType("application/json")


@bentoml.service(workers=1, runner_connection=NEVER_REFRESH)
class AnalysisModels:
    """Holds the sentiment, category and entity pyfuncs; sees customer tweets only.

    A registry without them (only `dvc repro train register` run so far) still starts the
    server: /classify works and /analyze answers 503 saying what to run.
    """

    def __init__(self) -> None:
        settings = get_settings()
        mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
        self.models: dict[str, Any] = {}
        self.info: dict[str, dict[str, str]] = {}
        self.problem = ""
        try:
            for role, name in ANALYSIS.model_names.items():
                self.models[role], self.info[name] = load_registered(
                    name, ANALYSIS.analysis_model_alias, settings.mlflow_tracking_uri
                )
        except ModelNotRegisteredError as err:
            self.problem = f"{err} (stage train_analysis)"
        freeze_loaded()

    @bentoml.api(
        batchable=ANALYSIS.analysis_batching,
        max_batch_size=ANALYSIS.analysis_max_batch_size,
        max_latency_ms=BATCHING.max_latency_ms,
    )
    def analyze(self, texts: list[str]) -> Annotated[list[dict[str, Any]], JSON]:
        if self.problem:
            raise ServiceUnavailable(self.problem)
        frame = pd.DataFrame({"text": texts})
        return customer_fields(
            self.models["sentiment"].predict(frame),
            self.models["category"].predict(frame),
            self.models["entities"].predict(frame),
        )

    @bentoml.api
    def model_info(self) -> Annotated[dict[str, dict[str, str]], JSON]:
        return {name: dict(info) for name, info in self.info.items()}

    @bentoml.api
    def unavailable(self) -> str:
        """Why /analyze cannot answer ("" when it can)."""
        return self.problem


@bentoml.asgi_app(info_app, path="/")
@bentoml.service(workers=BATCHING.workers, runner_connection=NEVER_REFRESH, **BATCHING.tracing())
class TweetClassifier:
    """Public API: /classify, /analyze, /model_info (POST and GET), /stats."""

    analysis = bentoml.depends(AnalysisModels)

    def __init__(self) -> None:
        settings = get_settings()
        mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
        self.inbound = InboundScorer(
            settings.inbound_model,
            settings.model_alias,
            settings.shadow_alias,
            settings.mlflow_tracking_uri,
        )
        self.lineage: dict[str, str] | None = None
        freeze_loaded()

    @bentoml.api(
        route="/classify",
        batchable=BATCHING.batching,
        max_batch_size=BATCHING.max_batch_size,
        max_latency_ms=BATCHING.max_latency_ms,
    )
    def classify(self, texts: Texts) -> Annotated[list[Classification], JSON]:
        """Concurrent requests' texts arrive here merged (one model call for all of them)."""
        return self.inbound.predict(texts)

    def _classify_all(self, texts: list[str]) -> list[Classification]:
        """/analyze's texts, already one batch: scored directly, in model-sized pieces."""
        return [
            c
            for piece in chunks(texts, BATCHING.max_batch_size)
            for c in self.inbound.predict(piece)
        ]

    @bentoml.api(route="/analyze")
    async def analyze(self, texts: Texts) -> Annotated[list[Analysis], JSON]:
        """Inbound first; customer tweets then get sentiment, category, flags and entities."""
        problem = await self.analysis.to_async.unavailable()
        if problem:  # the client sees 503; /model_info and the server log say why
            raise ServiceUnavailable(problem)
        classifications = await anyio.to_thread.run_sync(self._classify_all, texts)
        customer = [i for i, c in enumerate(classifications) if c.inbound]
        pieces = chunks([texts[i] for i in customer], ANALYSIS.analysis_max_batch_size)
        # one piece at a time: the one analysis worker takes them one by one anyway, and a
        # request that queued all its pieces at once made later ones wait past the batcher's
        # max latency, which fails the whole request with 503 (work lost, the client retries)
        answers = [await self.analysis.to_async.analyze(piece) for piece in pieces]
        found = dict(zip(customer, (row for answer in answers for row in answer), strict=True))
        inbound_model = {self.inbound.info["name"]: lineage(self.inbound.info)}
        return compose(texts, classifications, found, inbound_model, await self._lineage())

    async def _lineage(self) -> dict[str, str]:
        """`Analysis.models` entries of the analysis models: name -> "version (run id)"."""
        if self.lineage is None:
            analysis = await self.analysis.to_async.model_info()
            self.lineage = {name: lineage(info) for name, info in analysis.items()}
        return self.lineage

    async def _model_info(self) -> dict[str, Any]:
        """The inbound model at the top level (as before /analyze existed), and every served
        model, inbound included, under its registered name."""
        inbound = self.inbound.model_info()
        analysis = await self.analysis.to_async.model_info()
        info: dict[str, Any] = {**inbound, "models": {inbound["name"]: inbound, **analysis}}
        problem = await self.analysis.to_async.unavailable()
        if problem:  # BentoML hides 5xx messages: /analyze's 503 is explained here
            info[ANALYZE_UNAVAILABLE_KEY] = problem
        return info

    @bentoml.api(route="/model_info")
    async def model_info(self) -> Annotated[dict[str, Any], JSON]:
        return await self._model_info()

    @info_app.get("/model_info")
    async def model_info_get(self) -> dict[str, Any]:
        return await self._model_info()

    @bentoml.api(route="/stats")
    def stats(self) -> Annotated[dict[str, Any], JSON]:
        """Batches the inbound model scored, by size: what adaptive batching merged. Each of the
        `workers` processes batches on its own; these are the figures of the one that answered
        (`worker`). BentoML's `/metrics` histogram sums all of them."""
        workers = {"worker": bentoml.server_context.worker_index, "workers": BATCHING.workers}
        return {**workers, **self.inbound.stats()}
