"""The model server: `bentoml serve serving.service:TweetClassifier`.

Three services. `TweetClassifier` is the public face: it validates each request on its own and
forwards the texts to `InboundModel`, whose batchable `predict` lets BentoML's dispatcher merge
many concurrent small requests into one model call; `/analyze` then sends only the customer
tweets on to `AnalysisModels` (sentiment, category + flags, entities), batchable the same way. Validating inside a batchable API would see
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
from bentoml.exceptions import InvalidArgument, ServiceUnavailable
from fastapi import FastAPI

from serving.analysis import compose, customer_fields, lineage
from serving.config import AnalysisSettings, BatchingSettings
from serving.launcher import not_registered
from serving.validation import chunks, classify_input_problem
from tweetcare.core.contract import ANALYZE_UNAVAILABLE_KEY, DATA_VERSION_TAG, SHADOW_KEY
from tweetcare.core.schemas import Analysis, Classification, ShadowScore
from tweetcare.core.settings import get_settings

with bentoml.importing():
    import mlflow
    import pandas as pd
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

logger = logging.getLogger("tweetcare.serving")
BATCHING = BatchingSettings()
ANALYSIS = AnalysisSettings()
info_app = FastAPI(title="tweetcare model info")
# BentoML 1.4.39's dependency client replaces its HTTP session every `max_requests` calls (default
# 100) and closes the old one under requests still in flight: under concurrent load those fail
# with "Connector is closed" (HTTP 500). Limits this large mean the session is never replaced.
NEVER_REFRESH = {"max_requests": 2**31 - 1, "max_age": float(10**9)}


class ModelNotRegisteredError(RuntimeError):
    """The registry has no version under the configured alias: the server cannot start."""


def load_registered(name: str, alias: str, tracking_uri: str) -> tuple[Any, dict[str, str]]:
    """The pyfunc `name@alias` and its lineage (name, version, run id, alias, data version)."""
    client = MlflowClient()
    try:
        version = client.get_model_version_by_alias(name, alias)
    except MlflowException as err:
        message = not_registered(name, alias, tracking_uri)
        logger.error(message)
        raise ModelNotRegisteredError(message) from err
    model = mlflow.pyfunc.load_model(f"models:/{name}/{version.version}")
    info = {"name": name, "version": str(version.version), "run_id": str(version.run_id)}
    info["alias"] = alias
    try:
        data_version = client.get_run(version.run_id).data.tags.get(DATA_VERSION_TAG)
    except MlflowException:
        data_version = None
    if data_version:  # absent rather than empty: readers fall back to the per-model entries
        info["data_version"] = data_version
    logger.info("serving %s version %s (run %s)", name, version.version, version.run_id)
    return model, info


def load_shadow(
    name: str, alias: str, champion: dict[str, str], tracking_uri: str
) -> tuple[Any, dict[str, str]]:
    """The version under `alias` to score beside the champion, or (None, {}) when shadow
    scoring is off, no version holds the alias, or it is the champion itself."""
    if not alias:
        return None, {}
    try:
        version = MlflowClient().get_model_version_by_alias(name, alias)
    except MlflowException:
        logger.info("no %s@%s: shadow scoring off", name, alias)
        return None, {}
    if str(version.version) == champion["version"]:
        return None, {}
    return load_registered(name, alias, tracking_uri)


@bentoml.service(workers=1, runner_connection=NEVER_REFRESH)
class InboundModel:
    """Holds the champion pyfunc; the only process that loads the model."""

    def __init__(self) -> None:
        settings = get_settings()
        mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
        self.model, self.info = load_registered(
            settings.inbound_model, settings.model_alias, settings.mlflow_tracking_uri
        )
        self.shadow, self.shadow_info = load_shadow(
            settings.inbound_model, settings.shadow_alias, self.info, settings.mlflow_tracking_uri
        )
        self.batch_sizes: Counter[int] = Counter()

    @bentoml.api(
        batchable=BATCHING.batching,
        max_batch_size=BATCHING.max_batch_size,
        max_latency_ms=BATCHING.max_latency_ms,
    )
    def predict(self, texts: list[str]) -> list[dict[str, Any]]:
        self.batch_sizes[len(texts)] += 1
        inputs = pd.DataFrame({"text": texts})
        frame = self.model.predict(inputs)
        shadows = self._shadow_scores(inputs)
        return [
            Classification(
                label=row.label,
                inbound=bool(row.inbound),
                probability=float(row.probability),
                inbound_probability=float(row.inbound_probability),
                shadow=shadow,
            ).model_dump()
            for row, shadow in zip(frame.itertuples(index=False), shadows, strict=True)
        ]

    def _shadow_scores(self, inputs: pd.DataFrame) -> list[ShadowScore | None]:
        """The challenger's answers, or None for each text when there is none; a challenger
        that fails is logged and skipped, never a failed request: it drives nothing."""
        if self.shadow is None:
            return [None] * len(inputs)
        try:
            frame = self.shadow.predict(inputs)
        except Exception:  # any failure of the shadow model must not cost the champion's answer
            logger.exception("shadow model %s failed on a batch", self.shadow_info)
            return [None] * len(inputs)
        version = self.shadow_info["version"]
        return [
            ShadowScore(
                model_version=version,
                inbound=bool(row.inbound),
                inbound_probability=float(row.inbound_probability),
            )
            for row in frame.itertuples(index=False)
        ]

    @bentoml.api
    def model_info(self) -> dict[str, Any]:
        return {**self.info, SHADOW_KEY: dict(self.shadow_info)} if self.shadow else dict(self.info)

    @bentoml.api
    def stats(self) -> dict[str, Any]:
        return {
            "batches": sum(self.batch_sizes.values()),
            "texts": sum(size * count for size, count in self.batch_sizes.items()),
            "max_batch_size": max(self.batch_sizes, default=0),
            "batch_sizes": {str(size): n for size, n in sorted(self.batch_sizes.items())},
        }


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
        self.batch_sizes: Counter[int] = Counter()

    @bentoml.api(
        batchable=ANALYSIS.analysis_batching,
        max_batch_size=ANALYSIS.analysis_max_batch_size,
        max_latency_ms=BATCHING.max_latency_ms,
    )
    def analyze(self, texts: list[str]) -> list[dict[str, Any]]:
        if self.problem:
            raise ServiceUnavailable(self.problem)
        self.batch_sizes[len(texts)] += 1
        frame = pd.DataFrame({"text": texts})
        return customer_fields(
            self.models["sentiment"].predict(frame),
            self.models["category"].predict(frame),
            self.models["entities"].predict(frame),
        )

    @bentoml.api
    def model_info(self) -> dict[str, dict[str, str]]:
        return {name: dict(info) for name, info in self.info.items()}

    @bentoml.api
    def unavailable(self) -> str:
        """Why /analyze cannot answer ("" when it can)."""
        return self.problem


@bentoml.asgi_app(info_app, path="/")
@bentoml.service(workers=1)
class TweetClassifier:
    """Public API: /classify, /analyze, /model_info (POST and GET), /stats."""

    model = bentoml.depends(InboundModel)
    analysis = bentoml.depends(AnalysisModels)

    def __init__(self) -> None:
        settings = get_settings()
        self.max_texts = settings.classify_max_texts
        self.max_chars = settings.classify_max_chars
        self.lineage: tuple[dict[str, str], dict[str, str]] | None = None

    @bentoml.api(route="/classify")
    async def classify(self, texts: list[str]) -> list[Classification]:
        problem = classify_input_problem(texts, self.max_texts, self.max_chars)
        if problem:
            raise InvalidArgument(problem)
        return await self._classify(texts)

    async def _classify(self, texts: list[str]) -> list[Classification]:
        pieces = chunks(texts, BATCHING.max_batch_size)
        answers = await asyncio.gather(*(self.model.to_async.predict(p) for p in pieces))
        return [Classification.model_validate(item) for answer in answers for item in answer]

    @bentoml.api(route="/analyze")
    async def analyze(self, texts: list[str]) -> list[Analysis]:
        """Inbound first; customer tweets then get sentiment, category, flags and entities."""
        problem = classify_input_problem(texts, self.max_texts, self.max_chars)
        if problem:
            raise InvalidArgument(problem)
        problem = await self.analysis.to_async.unavailable()
        if problem:  # the client sees 503; /model_info and the server log say why
            raise ServiceUnavailable(problem)
        classifications = await self._classify(texts)
        customer = [i for i, c in enumerate(classifications) if c.inbound]
        pieces = chunks([texts[i] for i in customer], ANALYSIS.analysis_max_batch_size)
        # one piece at a time: the one analysis worker takes them one by one anyway, and a
        # request that queued all its pieces at once made later ones wait past the batcher's
        # max latency, which fails the whole request with 503 (work lost, the client retries)
        answers = [await self.analysis.to_async.analyze(piece) for piece in pieces]
        found = dict(zip(customer, (row for answer in answers for row in answer), strict=True))
        inbound_models, analysis_models = await self._lineage()
        return compose(texts, classifications, found, inbound_models, analysis_models)

    async def _lineage(self) -> tuple[dict[str, str], dict[str, str]]:
        """`Analysis.models` entries: registered name -> "version (run id)", fetched once."""
        if self.lineage is None:
            inbound = await self.model.to_async.model_info()
            analysis = await self.analysis.to_async.model_info()
            self.lineage = (
                {inbound["name"]: lineage(inbound)},
                {name: lineage(info) for name, info in analysis.items()},
            )
        return self.lineage

    async def _model_info(self) -> dict[str, Any]:
        """The inbound model at the top level (as before /analyze existed), and every served
        model, inbound included, under its registered name."""
        inbound = await self.model.to_async.model_info()
        analysis = await self.analysis.to_async.model_info()
        info: dict[str, Any] = {**inbound, "models": {inbound["name"]: inbound, **analysis}}
        problem = await self.analysis.to_async.unavailable()
        if problem:  # BentoML hides 5xx messages: /analyze's 503 is explained here
            info[ANALYZE_UNAVAILABLE_KEY] = problem
        return info

    @bentoml.api(route="/model_info")
    async def model_info(self) -> dict[str, Any]:
        return await self._model_info()

    @info_app.get("/model_info")
    async def model_info_get(self) -> dict[str, Any]:
        return await self._model_info()

    @bentoml.api(route="/stats")
    async def stats(self) -> dict[str, Any]:
        return await self.model.to_async.stats()
