"""The promotion gate for every registered model: register a candidate, decide its alias.

Aliases, not stages (stages are deprecated in MLflow 3). The server loads whatever holds
`@champion`, so this module is the only place that decides what production serves. The rules
are the same for all four models: the candidate must beat the champion on the same held-out
data, scored through both pyfuncs by the model's own `Scorer`, and serve at least its budget
(`models.<role>.min_tweets_per_second` in params.yaml) at `models.latency_batch` texts per call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mlflow
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from training.evaluate import evaluate_pyfunc
from training.latency import measure_speed
from training.model_card import CARD_ARTIFACT, render_model_card
from training.pyfunc import TEXT_COLUMN
from tweetcare.core.errors import UserError
from tweetcare.core.models import CHAMPION, DECISION_TAG, REASON_TAG
from tweetcare.core.params import RegisterParams

CHALLENGER = "challenger"
# the score of a loaded pyfunc on held-out rows (higher is better) and the metric's name
Scorer = Callable[[Any, pd.DataFrame], float]
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Promotion:
    model_name: str
    version: str
    alias: str
    reason: str
    candidate_f1: float
    champion_f1: float | None
    champion_version: str | None
    tweets_per_second: float
    metric: str = "test F1"

    @property
    def promoted(self) -> bool:
        return self.alias != CHALLENGER


def current_champion(
    client: MlflowClient, model_name: str, alias: str = CHAMPION
) -> ModelVersion | None:
    try:
        return client.get_model_version_by_alias(model_name, alias)
    except MlflowException:
        return None  # no registered model yet, or no version holds the alias


def decide(
    candidate_f1: float,
    champion_f1: float | None,
    tweets_per_second: float,
    params: RegisterParams,
    metric: str = "test F1",
) -> tuple[str, str]:
    """(alias, reason): the gate as a pure function, so its rules are easy to test and read."""
    best = params.alias
    if tweets_per_second < params.min_tweets_per_second:
        return CHALLENGER, (
            f"too slow: {tweets_per_second:.0f} tweets/s at batch {params.latency_batch} "
            f"< required {params.min_tweets_per_second:.0f}"
        )
    if champion_f1 is None:
        return best, f"first model: no {best} yet ({metric} {candidate_f1:.4f})"
    if candidate_f1 > champion_f1:
        return best, f"beats {best}: {metric} {candidate_f1:.4f} > {champion_f1:.4f}"
    return CHALLENGER, f"does not beat {best}: {metric} {candidate_f1:.4f} <= {champion_f1:.4f}"


def inbound_f1(model: Any, held_out: pd.DataFrame) -> float:
    """The tweet-inbound models' score: F1 of the inbound class on raw text."""
    return evaluate_pyfunc(model, held_out)["f1"]


def _score(model_uri: str, held_out: pd.DataFrame, scorer: Scorer) -> tuple[Any, float]:
    model = mlflow.pyfunc.load_model(model_uri)
    return model, scorer(model, held_out)


def _champion_score(name: str, alias: str, held_out: pd.DataFrame, scorer: Scorer) -> float | None:
    """The champion's score, or None when it no longer loads (a version from older code):
    then the candidate competes as if there were none, and the log says why."""
    try:
        return _score(f"models:/{name}@{alias}", held_out, scorer)[1]
    except Exception as err:  # noqa: BLE001 - any load failure means "not comparable"
        logger.warning("%s@%s does not load any more (%s): not compared", name, alias, err)
        return None


def write_model_card(
    client: MlflowClient, name: str, version: str, alias: str, reason: str, run_id: str
) -> str:
    """Render the card from the training run; keep it on the version and as a run artifact."""
    run = client.get_run(run_id)
    card = render_model_card(
        name, version, alias, reason, run_id, run.data.params, run.data.metrics, run.data.tags
    )
    client.update_model_version(name, version, description=card)
    client.log_text(run_id, card, CARD_ARTIFACT)
    return card


def register_and_promote(
    model_uri: str,
    run_id: str,
    test: pd.DataFrame,
    params: RegisterParams,
    parent_run_id: str | None = None,
    scorer: Scorer = inbound_f1,
    metric: str = "test F1",
    tags: dict[str, str] | None = None,
) -> Promotion:
    """Register `model_uri` under `params.model_name` and set its alias by the gate's rules.

    Candidate and champion are both scored here by ``scorer``, through their pyfuncs on the same
    held-out rows, so the comparison holds even if they were trained on different data or code;
    the candidate's speed is timed on those rows' raw text as the server calls it. The decision
    is tagged on the version, the candidate's run and (if given) the comparison's parent run; a
    model card goes with every registered version.
    """
    if test.empty or TEXT_COLUMN not in test.columns:
        raise UserError("the held-out rows are empty or lack `text`; run `dvc repro`")
    if scorer is inbound_f1 and "inbound" not in test.columns:
        raise UserError("the test split lacks `inbound`; run `dvc repro featurize`")
    client = MlflowClient()
    name = params.model_name
    champion = current_champion(client, name, params.alias)
    champion_f1 = None
    if champion is not None:
        champion_f1 = _champion_score(name, params.alias, test, scorer)
    version = mlflow.register_model(model_uri, name).version
    candidate, candidate_f1 = _score(f"models:/{name}/{version}", test, scorer)
    speed = measure_speed(candidate, test[TEXT_COLUMN].astype(str).tolist(), params.latency_batch)
    alias, reason = decide(candidate_f1, champion_f1, speed.tweets_per_second, params, metric)
    client.set_registered_model_alias(name, alias, version)
    for key, value in ((DECISION_TAG, alias), (REASON_TAG, reason), *(tags or {}).items()):
        client.set_model_version_tag(name, version, key, value)
    for key, value in ((DECISION_TAG, alias), (REASON_TAG, reason)):
        for run in {run_id, parent_run_id} - {None}:
            client.set_tag(run, key, value)
    client.log_metric(run_id, "gate_tweets_per_second", speed.tweets_per_second)
    write_model_card(client, name, str(version), alias, reason, run_id)
    return Promotion(
        model_name=name,
        version=str(version),
        alias=alias,
        reason=reason,
        candidate_f1=candidate_f1,
        champion_f1=champion_f1,
        champion_version=None if champion is None else str(champion.version),
        tweets_per_second=speed.tweets_per_second,
        metric=metric,
    )
