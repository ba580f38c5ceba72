"""Loading registered models for the server, and the inbound model's scorer.

Kept apart from BentoML's service classes so the public service and the analysis worker load
models the same way, and so the scorer is usable (and testable) without a server.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from serving.launcher import not_registered
from tweetcare.core.contract import DATA_VERSION_TAG, SHADOW_KEY
from tweetcare.core.schemas import Classification, ShadowScore

logger = logging.getLogger("tweetcare.serving")


# the package every model version carries its own copy of (training/pyfunc.py: packaged_code)
PACKAGED_CODE = "training"


def load_with_own_code(model_uri: str, package: str = PACKAGED_CODE) -> Any:
    """The pyfunc at ``model_uri``, unpickled with the ``package`` it was logged with.

    MLflow puts each model's code first on sys.path but keeps the modules already imported, so a
    process that serves versions trained by different code (a new category champion beside an
    older sentiment one, a challenger in shadow) would unpickle them all with the classes of the
    first one loaded. Forgetting those modules first lets each version import its own; the ones
    loaded before keep theirs.
    """
    for module in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
        del sys.modules[module]
    return mlflow.pyfunc.load_model(model_uri)


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
    model = load_with_own_code(f"models:/{name}/{version.version}")
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


def freeze_loaded() -> None:
    """Take everything loaded so far (the models, torch, MLflow: millions of objects that live
    as long as the worker) out of the garbage collector's full passes. Each of those walked them
    all: 30-100 ms pauses under load, straight into /classify's p99."""
    gc.freeze()


class InboundScorer:
    """The champion inbound pyfunc (and its shadow challenger): texts in, Classifications out.

    Counts the size of every batch it scores, so `/stats` shows what adaptive batching merged.
    """

    def __init__(self, name: str, alias: str, shadow_alias: str, tracking_uri: str) -> None:
        self.model, self.info = load_registered(name, alias, tracking_uri)
        self.shadow, self.shadow_info = load_shadow(name, shadow_alias, self.info, tracking_uri)
        self.batch_sizes: Counter[int] = Counter()
        self._lock = threading.Lock()  # batches are scored on worker threads

    def predict(self, texts: Sequence[str]) -> list[Classification]:
        with self._lock:
            self.batch_sizes[len(texts)] += 1
        inputs = pd.DataFrame({"text": list(texts)})
        frame = self.model.predict(inputs)
        shadows = self._shadow_scores(inputs)
        return [
            Classification(
                label=label,
                inbound=bool(inbound),
                probability=float(probability),
                inbound_probability=float(inbound_probability),
                shadow=shadow,
            )
            for label, inbound, probability, inbound_probability, shadow in zip(
                frame["label"],
                frame["inbound"],
                frame["probability"],
                frame["inbound_probability"],
                shadows,
                strict=True,
            )
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
                inbound=bool(inbound),
                inbound_probability=float(probability),
            )
            for inbound, probability in zip(
                frame["inbound"], frame["inbound_probability"], strict=True
            )
        ]

    def model_info(self) -> dict[str, Any]:
        if self.shadow is None:
            return dict(self.info)
        return {**self.info, SHADOW_KEY: dict(self.shadow_info)}

    def stats(self) -> dict[str, Any]:
        with self._lock:
            sizes = dict(self.batch_sizes)
        return {
            "batches": sum(sizes.values()),
            "texts": sum(size * count for size, count in sizes.items()),
            "max_batch_size": max(sizes, default=0),
            "batch_sizes": {str(size): n for size, n in sorted(sizes.items())},
        }
