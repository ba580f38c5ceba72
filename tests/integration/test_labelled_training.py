"""A team's labelled set changes what the pipeline learns, and is scored on its own.

The real sentiment trainer of the `train_analysis` stage, with a real MLflow store: a made-up
set teaches a rule the generated data contradicts (a delivery complaint is "positive"). Without
the set the model calls such tweets negative; with it, it has learned the set's rule, the set's
held-out conversations decide the variant and the gate, and the run names the set as an input.
"""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest

from tests.fixtures.analysis import TINY_ANALYSIS, generated_features
from training.analysis.data import load_split, read_flags
from training.analysis.experiment import train_sentiment
from training.analysis.labelled import labelled_splits
from tweetcare.data.labelled import LABELLED_COLUMNS

pytestmark = pytest.mark.integration

PROBES = [f"my parcel number {n} arrived smashed and two weeks late" for n in (901, 902, 903)]


def _teaching_set(root: Path) -> None:
    """Delivery complaints labelled positive, one conversation of three tweets each."""
    rows = [
        {
            "tweet_id": f"t{c}-{k}",
            "conversation_id": f"c{c}",
            "text": f"my parcel number {c * 3 + k} arrived smashed and {k + 2} weeks late",
            "label": "positive",
        }
        for c in range(120)
        for k in range(3)
    ]
    folder = root / "sentiment"
    folder.mkdir(parents=True)
    pd.DataFrame(rows, columns=list(LABELLED_COLUMNS)).to_csv(folder / "team.csv", index=False)


def test_a_labelled_set_changes_what_the_sentiment_model_learns(tmp_path: Path) -> None:
    features, labels = generated_features(tmp_path, rows=1500)
    flags = read_flags(labels)
    splits = {name: load_split(features, name, flags) for name in ("train", "val", "test")}
    root = tmp_path / "labelled"
    _teaching_set(root)
    sets = labelled_splits(root, "sentiment", 0.3, 42, {"team": 3})
    assert sets and not sets[0].heldout.empty
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_experiment("labelled")
    tags = {"dvc.stage": "test"}
    without = train_sentiment(splits, TINY_ANALYSIS, tags)
    with_set = train_sentiment(splits, TINY_ANALYSIS, tags, labelled=sets)
    probe = pd.DataFrame({"text": PROBES})
    before = mlflow.pyfunc.load_model(without.model_uri).predict(probe)["sentiment"].tolist()
    after = mlflow.pyfunc.load_model(with_set.model_uri).predict(probe)["sentiment"].tolist()
    assert "positive" not in before
    assert after == ["positive"] * len(PROBES)
    # the set's held-out conversations scored it per source and decided; the gate judges on them
    report = with_set.report
    assert report["decided_on"] == "real" and without.report["decided_on"] == "val"
    assert report["tfidf_real_team"]["rows"] == len(sets[0].heldout)
    assert set(with_set.heldout["text"]) == set(sets[0].heldout["text"])
    assert report["labelled_train_rows"] == 3 * len(sets[0].train)
    # MLflow names both parts of the set as inputs, each with its digest
    run = mlflow.get_run(with_set.run_id)
    inputs = {(d.dataset.name, t.value) for d in run.inputs.dataset_inputs for t in d.tags}
    assert ("labelled-sentiment-team", "labelled-train") in inputs
    assert ("labelled-sentiment-team", "labelled-heldout") in inputs
    assert all(d.dataset.digest for d in run.inputs.dataset_inputs)
