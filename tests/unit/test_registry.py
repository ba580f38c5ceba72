"""The promotion gate against a real sqlite MLflow registry."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from tests.fixtures.bento import synthetic_features
from training.baseline import train_baseline
from training.pyfunc import log_sklearn_pyfunc
from training.registry import CHALLENGER, CHAMPION, DECISION_TAG, decide, register_and_promote
from tweetcare.core.params import BaselineParams, Budget, RegisterParams

GOOD = BaselineParams(C=4.0, max_features=5000, ngram_max=2, min_df=1)
GATE = RegisterParams(model_name="tweet-inbound", min_tweets_per_second=1.0, latency_batch=32)


@pytest.fixture
def registry(tmp_path: Path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_experiment("tweet-inbound-test")
    yield
    mlflow.set_tracking_uri(None)


def _log(params: BaselineParams, scramble_labels: bool = False) -> tuple[str, str]:
    """Log a baseline; with scrambled labels it learns noise, a sure loser at the gate."""
    train = synthetic_features(200)
    if scramble_labels:
        train["inbound"] = train["inbound"].sample(frac=1.0, random_state=1).to_numpy()
    model = train_baseline(train, params)
    with mlflow.start_run() as run:
        info = log_sklearn_pyfunc(model, mask_handles=True)
    return info.model_uri, run.info.run_id


def test_decide_rules() -> None:
    assert decide(0.9, None, 5000, GATE)[0] == CHAMPION
    assert decide(0.9, 0.8, 5000, GATE)[0] == CHAMPION
    assert decide(0.8, 0.8, 5000, GATE)[0] == CHALLENGER
    slow = RegisterParams(model_name="m", min_tweets_per_second=100, latency_batch=8)
    alias, reason = decide(1.0, None, 10, slow)
    assert alias == CHALLENGER and "too slow" in reason


@pytest.mark.parametrize("metric", ["F1", "macro-F1", "entity F1"])
def test_decide_judges_every_model_by_its_own_metric_and_budget(metric: str) -> None:
    budget = Budget(min_tweets_per_second=300, latency_batch=256)
    alias, reason = decide(0.91, 0.9, 400, budget, metric)
    assert alias == CHAMPION and f"test {metric} 0.9100 > 0.9000" in reason
    alias, reason = decide(0.9, 0.9, 400, budget, metric)
    assert alias == CHALLENGER and f"does not beat {CHAMPION}: test {metric}" in reason
    alias, reason = decide(0.99, 0.5, 299, budget, metric)  # better, but over its budget
    assert alias == CHALLENGER and "at batch 256 < required 300" in reason
    assert decide(0.1, None, 300, budget, metric)[0] == CHAMPION  # first model, fast enough


def test_a_tie_goes_to_a_model_trained_on_newer_data_never_to_a_copy() -> None:
    # agents' corrections change the training data, not the held-out tweets: a retrained model
    # that is as good there must still replace the one that never saw them
    alias, reason = decide(0.8, 0.8, 5000, GATE, new_data=True)
    assert alias == CHAMPION and "newer data version" in reason
    assert decide(0.8, 0.8, 5000, GATE, new_data=False)[0] == CHALLENGER
    assert decide(0.79, 0.8, 5000, GATE, new_data=True)[0] == CHALLENGER  # worse is worse
    slow = RegisterParams(model_name="m", min_tweets_per_second=100, latency_batch=8)
    assert decide(0.8, 0.8, 10, slow, new_data=True)[0] == CHALLENGER


def test_a_new_data_version_may_trail_the_champion_by_its_tolerance() -> None:
    budget = Budget(min_tweets_per_second=1, latency_batch=8, new_data_tolerance=0.03)
    alias, reason = decide(0.871, 0.889, 50, budget, "macro-F1", new_data=True)
    assert alias == CHAMPION and "within 0.03 of champion" in reason
    assert "0.8710 vs 0.8890" in reason and "newer data version" in reason
    assert decide(0.85, 0.889, 50, budget, "macro-F1", new_data=True)[0] == CHALLENGER
    assert decide(0.871, 0.889, 50, budget, "macro-F1", new_data=False)[0] == CHALLENGER


def test_first_champion_then_worse_is_challenger_then_slow_is_refused(registry) -> None:
    test = synthetic_features(200, seed=3)
    client = mlflow.MlflowClient()

    first = register_and_promote(*_log(GOOD), test, GATE)
    assert first.alias == CHAMPION and first.champion_f1 is None
    assert (
        str(client.get_model_version_by_alias("tweet-inbound", CHAMPION).version) == first.version
    )

    uri, run_id = _log(GOOD, scramble_labels=True)
    worse = register_and_promote(uri, run_id, test, GATE)
    assert worse.alias == CHALLENGER and worse.candidate_f1 < first.candidate_f1
    assert worse.champion_version == first.version
    version = client.get_model_version("tweet-inbound", worse.version)
    assert version.tags[DECISION_TAG] == CHALLENGER
    assert mlflow.get_run(run_id).data.tags[DECISION_TAG] == CHALLENGER

    impossible = GATE.model_copy(update={"min_tweets_per_second": 1e12})
    slow = register_and_promote(*_log(GOOD), test, impossible)
    assert slow.alias == CHALLENGER and "too slow" in slow.reason
    assert (
        str(client.get_model_version_by_alias("tweet-inbound", CHAMPION).version) == first.version
    )


def test_every_registered_version_gets_a_model_card_and_the_parent_run_the_decision(
    registry,
) -> None:
    test = synthetic_features(120, seed=3)
    client = mlflow.MlflowClient()
    with mlflow.start_run(run_name="compare") as parent:
        pass
    uri, run_id = _log(GOOD)
    promotion = register_and_promote(uri, run_id, test, GATE, parent_run_id=parent.info.run_id)
    version = client.get_model_version("tweet-inbound", promotion.version)
    assert version.description.startswith(f"# Model card: tweet-inbound v{promotion.version}")
    assert f"@{promotion.alias}" in version.description and "## Limits" in version.description
    assert "model_card.md" in {a.path for a in client.list_artifacts(run_id)}
    assert mlflow.get_run(parent.info.run_id).data.tags[DECISION_TAG] == promotion.alias
