"""The model server: `bentoml serve serving.service:TweetClassifier`.

Two services. `TweetClassifier` is the public face: it validates each request on its own and
forwards the texts to `InboundModel`, whose batchable `predict` lets BentoML's dispatcher merge
many concurrent small requests into one model call. Validating inside a batchable API would see
merged lists, and a batchable API reached directly takes a client's list as one batch; putting
the dispatcher behind a dependency gives per-request checks and real batching.

The model is whatever the MLflow registry holds as `{model_name}@{model_alias}`; any pyfunc with
the tweet-inbound output contract works, so a new champion needs a restart, not new code.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

import bentoml
from bentoml.exceptions import InvalidArgument
from fastapi import FastAPI

from serving.config import BatchingSettings
from serving.validation import chunks, classify_input_problem
from tweetcare.core.schemas import Classification
from tweetcare.core.settings import get_settings

with bentoml.importing():
    import mlflow
    import pandas as pd
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

logger = logging.getLogger("tweetcare.serving")
BATCHING = BatchingSettings()
info_app = FastAPI(title="tweetcare model info")
# BentoML 1.4.39's dependency client replaces its HTTP session every `max_requests` calls (default
# 100) and closes the old one under requests still in flight: under concurrent load those fail
# with "Connector is closed" (HTTP 500). Limits this large mean the session is never replaced.
NEVER_REFRESH = {"max_requests": 2**31 - 1, "max_age": float(10**9)}


class ModelNotRegisteredError(RuntimeError):
    """The registry has no version under the configured alias: the server cannot start."""


@bentoml.service(workers=1, runner_connection=NEVER_REFRESH)
class InboundModel:
    """Holds the champion pyfunc; the only process that loads the model."""

    def __init__(self) -> None:
        settings = get_settings()
        mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
        name, alias = settings.model_name, settings.model_alias
        try:
            version = MlflowClient().get_model_version_by_alias(name, alias)
        except MlflowException as err:
            message = (
                f"no model registered as {name}@{alias} in {settings.mlflow_tracking_uri}: "
                "run dvc repro"
            )
            logger.error(message)
            raise ModelNotRegisteredError(message) from err
        self.model = mlflow.pyfunc.load_model(f"models:/{name}/{version.version}")
        self.info = {"name": name, "version": str(version.version), "run_id": version.run_id}
        self.info["alias"] = alias
        self.batch_sizes: Counter[int] = Counter()
        logger.info("serving %s version %s (run %s)", name, version.version, version.run_id)

    @bentoml.api(
        batchable=BATCHING.batching,
        max_batch_size=BATCHING.max_batch_size,
        max_latency_ms=BATCHING.max_latency_ms,
    )
    def predict(self, texts: list[str]) -> list[dict[str, Any]]:
        self.batch_sizes[len(texts)] += 1
        frame = self.model.predict(pd.DataFrame({"text": texts}))
        return [
            Classification(
                label=row.label,
                inbound=bool(row.inbound),
                probability=float(row.probability),
                inbound_probability=float(row.inbound_probability),
            ).model_dump()
            for row in frame.itertuples(index=False)
        ]

    @bentoml.api
    def model_info(self) -> dict[str, str]:
        return dict(self.info)

    @bentoml.api
    def stats(self) -> dict[str, Any]:
        return {
            "batches": sum(self.batch_sizes.values()),
            "texts": sum(size * count for size, count in self.batch_sizes.items()),
            "max_batch_size": max(self.batch_sizes, default=0),
            "batch_sizes": {str(size): n for size, n in sorted(self.batch_sizes.items())},
        }


@bentoml.asgi_app(info_app, path="/")
@bentoml.service(workers=1)
class TweetClassifier:
    """Public API: /classify, /model_info (POST and GET), /stats."""

    model = bentoml.depends(InboundModel)

    def __init__(self) -> None:
        settings = get_settings()
        self.max_texts = settings.classify_max_texts
        self.max_chars = settings.classify_max_chars

    @bentoml.api(route="/classify")
    async def classify(self, texts: list[str]) -> list[Classification]:
        problem = classify_input_problem(texts, self.max_texts, self.max_chars)
        if problem:
            raise InvalidArgument(problem)
        pieces = chunks(texts, BATCHING.max_batch_size)
        answers = await asyncio.gather(*(self.model.to_async.predict(p) for p in pieces))
        return [Classification.model_validate(item) for answer in answers for item in answer]

    @bentoml.api(route="/model_info")
    async def model_info(self) -> dict[str, str]:
        return await self.model.to_async.model_info()

    @info_app.get("/model_info")
    async def model_info_get(self) -> dict[str, str]:
        return await self.model.to_async.model_info()

    @bentoml.api(route="/stats")
    async def stats(self) -> dict[str, Any]:
        return await self.model.to_async.stats()
