"""The promotion gate: register a candidate and decide whether it becomes `@champion`.

Aliases, not stages (stages are deprecated in MLflow 3). The server loads whatever holds
`@champion`, so this module is the only place that decides what production serves, for every
registered model: tweet-inbound and the analysis models go through the same gate, each with its
own held-out data, metric (`Heldout`) and serving budget (`Budget`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import mlflow
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from training.analysis.heldout import METRICS, score
from training.evaluate import evaluate_pyfunc
from training.latency import measure_speed
from training.model_card import (
    ANALYSIS_CARDS,
    CARD_ARTIFACT,
    INBOUND_CARD,
    CardText,
    render_model_card,
)
from training.pyfunc import TEXT_COLUMN
from training.restore import registered_from
from tweetcare.core.contract import (
    CHALLENGER,
    CHAMPION,
    DATA_VERSION_TAG,
    DECISION_TAG,
    REASON_TAG,
    RECORD_TAG,
    SHADOW_RECORD_TAG,
    SOURCE_TAG,
)
from tweetcare.core.errors import UserError
from tweetcare.core.params import Budget, RegisterParams


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
    # what candidate_f1 and champion_f1 measure (F1 for tweet-inbound, macro-F1, entity F1)
    metric: str = "F1"

    @property
    def promoted(self) -> bool:
        return self.alias == CHAMPION


def current_champion(client: MlflowClient, model_name: str) -> ModelVersion | None:
    try:
        return client.get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException:
        return None  # no registered model yet, or no version holds the alias


@dataclass(frozen=True)
class Heldout:
    """What a model is judged on: the held-out texts it is timed on, and its metric on their
    labels. Candidate and champion are scored by the same `score`, through their pyfuncs."""

    texts: list[str]
    metric: str  # named in the gate's reasons, e.g. "F1", "macro-F1", "entity F1"
    score: Callable[[Any], float]  # a loaded pyfunc -> its metric on the held-out data
    about: CardText = INBOUND_CARD  # what the version's model card says it is for


def inbound_heldout(test: pd.DataFrame) -> Heldout:
    """tweet-inbound's held-out data: the test split, scored by F1 on `inbound`."""
    if test.empty or TEXT_COLUMN not in test.columns or "inbound" not in test.columns:
        raise UserError("the test split is empty or lacks `text`/`inbound`; run `dvc repro`")
    return Heldout(
        test[TEXT_COLUMN].astype(str).tolist(),
        "F1",
        lambda model: evaluate_pyfunc(model, test)["f1"],
    )


def analysis_heldout(key: str, frame: pd.DataFrame) -> Heldout:
    """An analysis model's held-out data: the experiment's test sample, its own metric."""
    if frame.empty or TEXT_COLUMN not in frame.columns:
        raise UserError(f"no held-out test tweets for the {key} model; run `dvc repro`")
    texts = frame[TEXT_COLUMN].astype(str).tolist()
    inputs = pd.DataFrame({TEXT_COLUMN: texts})
    return Heldout(
        texts,
        METRICS[key],
        lambda model: score(key, model.predict(inputs), frame),
        ANALYSIS_CARDS[key],
    )


def decide(
    candidate_f1: float,
    champion_f1: float | None,
    tweets_per_second: float,
    budget: Budget,
    metric: str = "F1",
    new_data: bool = False,
) -> tuple[str, str]:
    """(alias, reason): the gate as a pure function, so its rules are easy to test and read.
    The candidate must meet its budget and beat the champion's `metric` on the same data; a tie,
    or a shortfall within the budget's `new_data_tolerance`, goes to the candidate only when it
    learned from another data version than the champion (agents' corrections the held-out
    tweets cannot show), never to a copy of the champion."""
    if tweets_per_second < budget.min_tweets_per_second:
        return CHALLENGER, (
            f"too slow: {tweets_per_second:.0f} tweets/s at batch {budget.latency_batch} "
            f"< required {budget.min_tweets_per_second:.0f}"
        )
    if champion_f1 is None:
        return CHAMPION, f"first model: no {CHAMPION} yet (test {metric} {candidate_f1:.4f})"
    if candidate_f1 > champion_f1:
        return CHAMPION, f"beats {CHAMPION}: test {metric} {candidate_f1:.4f} > {champion_f1:.4f}"
    if new_data and candidate_f1 >= champion_f1 - budget.new_data_tolerance:
        within = (
            "ties"
            if candidate_f1 == champion_f1
            else (f"is within {budget.new_data_tolerance:g} of")
        )
        return CHAMPION, (
            f"{within} {CHAMPION} (test {metric} {candidate_f1:.4f} vs {champion_f1:.4f}) and "
            "learned from a newer data version"
        )
    return CHALLENGER, (
        f"does not beat {CHAMPION}: test {metric} {candidate_f1:.4f} <= {champion_f1:.4f}"
    )


def _data_version(client: MlflowClient, version: ModelVersion) -> str | None:
    """The data version a registered version learned from: its own tag, else its run's."""
    if version.tags.get(DATA_VERSION_TAG):
        return version.tags[DATA_VERSION_TAG]
    try:
        return client.get_run(version.run_id).data.tags.get(DATA_VERSION_TAG)
    except MlflowException:
        return None  # a version whose run is gone (a restored registry) has no known data


def _score(model_uri: str, heldout: Heldout) -> tuple[Any, float]:
    model = mlflow.pyfunc.load_model(model_uri)
    return model, float(heldout.score(model))


def write_model_card(
    client: MlflowClient,
    name: str,
    version: str,
    alias: str,
    reason: str,
    run_id: str,
    about: CardText = INBOUND_CARD,
) -> str:
    """Render the card from the training run; keep it on the version and as a run artifact."""
    run = client.get_run(run_id)
    data = run.data
    card = render_model_card(
        name, version, alias, reason, run_id, data.params, data.metrics, data.tags, about
    )
    client.update_model_version(name, version, description=card)
    client.log_text(run_id, card, CARD_ARTIFACT)
    return card


def _rules(name: str, budget: Budget) -> dict[str, Any]:
    return {
        "model_name": name,
        "min_tweets_per_second": budget.min_tweets_per_second,
        "latency_batch": budget.latency_batch,
    }


def previous_promotion(source_uri: str, params: RegisterParams) -> Promotion | None:
    """The gate's decision for a model already registered from `source_uri` under the same
    rules: registering it again would only add a duplicate version."""
    version = registered_from(MlflowClient(), params.model_name, source_uri)
    record = None if version is None else version.tags.get(RECORD_TAG)
    if not record:
        return None
    saved = json.loads(record)
    if saved.get("rules") != _rules(params.model_name, params):
        return None
    return Promotion(**saved["promotion"])


def register_and_promote(
    model_uri: str,
    run_id: str,
    test: pd.DataFrame,
    params: RegisterParams,
    parent_run_id: str | None = None,
    source_uri: str | None = None,
) -> Promotion:
    """tweet-inbound through the gate: `params.model_name`, scored by F1 on the test split."""
    return gate(
        params.model_name,
        model_uri,
        run_id,
        inbound_heldout(test),
        params,
        parent_run_id=parent_run_id,
        source_uri=source_uri,
    )


def gate(
    name: str,
    model_uri: str,
    run_id: str,
    heldout: Heldout,
    budget: Budget,
    parent_run_id: str | None = None,
    source_uri: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> Promotion:
    """Register `model_uri` as a new version of `name` and set its alias by the gate's rules.

    Candidate and champion are both scored here, through their pyfuncs on the same held-out
    raw text, so the comparison holds even if they were trained on different data or code. A
    candidate that loses stays `@challenger` and the champion keeps serving. The decision is
    tagged on the version, the candidate's run and (if given) the comparison's parent run; a
    model card goes with every registered version. `source_uri` is the logged model the
    candidate came from when `model_uri` is its restored copy; `tags` go on the version.
    """
    if not heldout.texts:
        raise UserError(f"no held-out texts to judge {name} on; run `dvc repro`")
    client = MlflowClient()
    champion = current_champion(client, name)
    champion_f1 = None
    if champion is not None:
        _, champion_f1 = _score(f"models:/{name}@{CHAMPION}", heldout)
    version = str(mlflow.register_model(model_uri, name).version)
    for key, value in (tags or {}).items():
        client.set_model_version_tag(name, version, key, value)
    candidate, candidate_f1 = _score(f"models:/{name}/{version}", heldout)
    speed = measure_speed(candidate, heldout.texts, budget.latency_batch)
    new_data = champion is not None and _data_version(
        client, client.get_model_version(name, version)
    ) not in (None, _data_version(client, champion))
    alias, reason = decide(
        candidate_f1, champion_f1, speed.tweets_per_second, budget, heldout.metric, new_data
    )
    client.set_registered_model_alias(name, alias, version)
    for key, value in ((DECISION_TAG, alias), (REASON_TAG, reason)):
        client.set_model_version_tag(name, version, key, value)
        for run in {run_id, parent_run_id} - {None}:
            client.set_tag(run, key, value)
    write_model_card(client, name, version, alias, reason, run_id, heldout.about)
    promotion = Promotion(
        model_name=name,
        version=version,
        alias=alias,
        reason=reason,
        candidate_f1=candidate_f1,
        champion_f1=champion_f1,
        champion_version=None if champion is None else str(champion.version),
        tweets_per_second=speed.tweets_per_second,
        metric=heldout.metric,
    )
    client.set_model_version_tag(name, version, SOURCE_TAG, source_uri or model_uri)
    record = {"promotion": asdict(promotion), "rules": _rules(name, budget)}
    client.set_model_version_tag(name, version, RECORD_TAG, json.dumps(record, sort_keys=True))
    return promotion


def promote_challenger(model_name: str, reason: str, record: dict[str, Any]) -> tuple[str, str]:
    """Move `@champion` to the `@challenger` version on live evidence (`record`, kept on it with
    `reason`); returns (new champion version, the version it replaced)."""
    client = MlflowClient()
    challenger = client.get_model_version_by_alias(model_name, CHALLENGER)
    champion = current_champion(client, model_name)
    version = str(challenger.version)
    client.set_registered_model_alias(model_name, CHAMPION, version)
    client.delete_registered_model_alias(model_name, CHALLENGER)
    for key, value in ((DECISION_TAG, CHAMPION), (REASON_TAG, reason)):
        client.set_model_version_tag(model_name, version, key, value)
    record_shadow_decision(model_name, version, CHAMPION, reason, record)
    write_model_card(client, model_name, version, CHAMPION, reason, str(challenger.run_id))
    return version, "" if champion is None else str(champion.version)


def record_shadow_decision(
    model_name: str, version: str, decision: str, reason: str, record: dict[str, Any]
) -> None:
    """The live gate's verdict and its figures, on the challenger version it judged (a refusal
    leaves the offline gate's own decision tags as they were)."""
    text = json.dumps({"decision": decision, "reason": reason, **record}, sort_keys=True)
    MlflowClient().set_model_version_tag(model_name, version, SHADOW_RECORD_TAG, text)
