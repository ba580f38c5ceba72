"""The promotion gate for the analysis models: their metrics, and a real sqlite registry."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from training.analysis.heldout import score
from training.analysis.sentiment import VADER, log_sentiment
from training.registry import analysis_heldout, gate
from tweetcare.core.contract import CHALLENGER, CHAMPION, DECISION_TAG, REASON_TAG, RECORD_TAG
from tweetcare.core.errors import UserError
from tweetcare.core.params import Budget

BUDGET = Budget(min_tweets_per_second=1.0, latency_batch=8)
NAME = "tweet-sentiment"
# held-out customer tweets VADER reads right at its own threshold (0.05)
HELDOUT = pd.DataFrame(
    {
        "text": [
            "@AmazonHelp thank you so much, you are amazing!",
            "@AmazonHelp I love how fast this was, great job",
            "@AmazonHelp this is terrible, the worst service ever",
            "@AmazonHelp I hate this, awful and useless",
            "@AmazonHelp my order number is 1234",
            "@AmazonHelp where is the parcel",
        ],
        "sentiment": ["positive", "positive", "negative", "negative", "neutral", "neutral"],
    }
)


def test_each_analysis_metric_scores_a_pyfunc_answer() -> None:
    right = HELDOUT[["sentiment"]]
    wrong = pd.DataFrame({"sentiment": ["neutral"] * len(HELDOUT)})
    assert score("sentiment", right, HELDOUT) == 1.0
    assert score("sentiment", wrong, HELDOUT) < score("sentiment", right, HELDOUT)

    category = pd.DataFrame(
        {
            "text": ["a", "b", "c", "d"],
            "category": ["billing", "technical", None, "billing"],
            "opening": [True, True, False, True],
            "flag": ["", "", "", "not_english"],
        }
    )
    # only English opening tweets count: the reply and the foreign tweet are not scored
    answer = pd.DataFrame({"category": ["billing", "technical", "delivery", "technical"]})
    assert score("category", answer, category) == 1.0
    assert score("category", answer.iloc[[1, 0, 2, 3]], category) == 0.0

    spans = json.dumps([{"start": 0, "end": 4, "label": "ORDER", "text": "1234"}])
    entities = pd.DataFrame({"text": ["1234 x"], "entities": [spans]})
    assert score("entities", pd.DataFrame({"entities": [spans]}), entities) == 1.0
    assert score("entities", pd.DataFrame({"entities": ["[]"]}), entities) == 0.0


def test_no_heldout_tweets_is_a_clear_error() -> None:
    with pytest.raises(UserError, match="no held-out test tweets for the sentiment model"):
        analysis_heldout("sentiment", HELDOUT.iloc[:0])


@pytest.fixture
def registry(tmp_path: Path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_experiment("tweet-analysis-test")
    yield mlflow.MlflowClient()
    mlflow.set_tracking_uri(None)


def _log_vader(threshold: float) -> tuple[str, str]:
    """A VADER sentiment pyfunc (no training); a huge threshold calls everything neutral."""
    with mlflow.start_run() as run:
        info = log_sentiment(VADER, None, threshold)
    return info.model_uri, run.info.run_id


def _champion(client: mlflow.MlflowClient) -> str:
    return str(client.get_model_version_by_alias(NAME, CHAMPION).version)


def test_an_analysis_model_must_beat_its_champion_to_replace_it(registry) -> None:
    client = registry
    heldout = analysis_heldout("sentiment", HELDOUT)

    weak_uri, weak_run = _log_vader(threshold=0.999)
    first = gate(NAME, weak_uri, weak_run, heldout, BUDGET)
    assert first.alias == CHAMPION and first.champion_f1 is None and first.metric == "macro-F1"

    # the same logged model again scores the same on the same tweets: it does not beat it
    again = gate(NAME, weak_uri, weak_run, heldout, BUDGET)
    assert again.alias == CHALLENGER and again.candidate_f1 == pytest.approx(first.candidate_f1)
    assert again.reason.startswith(f"does not beat {CHAMPION}: test macro-F1")
    assert _champion(client) == first.version  # the champion keeps serving
    tags = client.get_model_version(NAME, again.version).tags
    assert tags[DECISION_TAG] == CHALLENGER and "macro-F1" in tags[REASON_TAG]
    assert json.loads(tags[RECORD_TAG])["promotion"]["alias"] == CHALLENGER

    good_uri, good_run = _log_vader(threshold=0.05)
    better = gate(NAME, good_uri, good_run, heldout, BUDGET)
    assert better.alias == CHAMPION and better.candidate_f1 > first.candidate_f1
    assert better.champion_version == first.version and _champion(client) == better.version
    card = client.get_model_version(NAME, better.version).description
    assert card.startswith(f"# Model card: {NAME} v{better.version}")
    assert "negative, neutral or positive" in card and f"@{CHAMPION}" in card

    impossible = Budget(min_tweets_per_second=1e12, latency_batch=8)
    slow = gate(NAME, good_uri, good_run, heldout, impossible)
    assert slow.alias == CHALLENGER and "too slow" in slow.reason
    assert _champion(client) == better.version
