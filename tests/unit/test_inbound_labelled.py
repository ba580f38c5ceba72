"""The inbound model's labelled sets: each set's training conversations join every family's
training rows (its weight times), its held-out conversations never train and score each family."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from pipelines.train import LABELLED_TASK, train, write_metrics
from tests.fixtures.bento import synthetic_features, write_feature_splits
from training import families
from training.analysis.labelled import LabelledSplit, labelled_splits
from training.baseline import train_baseline
from training.datasets import LABELLED
from training.experiment import labelled_inbound_rows
from training.families import BASELINE, fit_family
from tweetcare.core.params import BaselineParams, TrainParams
from tweetcare.core.text import clean_text
from tweetcare.data.labelled import LABELLED_COLUMNS

PARAMS = TrainParams(
    mask_handles=True,
    raw_handles_models=[],
    baseline=BaselineParams(C=4.0, max_features=5000, ngram_max=2, min_df=1),
)
WEIGHT = 2


def inbound_set(conversations: int) -> pd.DataFrame:
    """A customer tweet and the brand's answer per conversation, every text its own."""
    rows = []
    for c in range(conversations):
        rows.append((f"{c}-0", f"c{c}", f"@AcmeHelp order {c} never came, where is it", "true"))
        rows.append((f"{c}-1", f"c{c}", f"@{200000 + c} sorry about order {c}, DM us ^AB", "false"))
    return pd.DataFrame(rows, columns=list(LABELLED_COLUMNS))


@pytest.fixture
def sets(tmp_path: Path) -> list[LabelledSplit]:
    folder = tmp_path / "labelled" / LABELLED_TASK
    folder.mkdir(parents=True)
    inbound_set(40).to_csv(folder / "team.csv", index=False)
    found = labelled_splits(tmp_path / "labelled", LABELLED_TASK, 0.3, 42, {"team": WEIGHT})
    assert [s.name for s in found] == ["team"]
    assert not found[0].train.empty and not found[0].heldout.empty
    return found


def test_a_sets_training_rows_reach_the_model_and_no_heldout_conversation_trains(
    sets: list[LabelledSplit], monkeypatch: pytest.MonkeyPatch
) -> None:
    fitted: list[pd.DataFrame] = []

    def spy(frame: pd.DataFrame, params: BaselineParams) -> object:
        fitted.append(frame)
        return train_baseline(frame, params)

    monkeypatch.setattr(families, "train_baseline", spy)
    splits = {"train": synthetic_features(40), LABELLED: labelled_inbound_rows(sets)}
    fit_family(BASELINE, splits, PARAMS, mask_handles=True)
    (frame,) = fitted
    trained = Counter(frame["clean_text"])
    labels = dict(zip(frame["clean_text"], frame["inbound"], strict=True))
    (team,) = sets
    for row in team.train.itertuples():
        assert trained[clean_text(row.text)] == WEIGHT
        assert labels[clean_text(row.text)] == (row.label == "true")
    held = set(team.heldout["conversation_id"])
    assert not held & set(team.train["conversation_id"])
    assert not {clean_text(t) for t in team.heldout["text"]} & set(trained)
    assert len(frame) == 40 + WEIGHT * len(team.train)


def test_the_train_stage_scores_each_sets_heldout_part(
    sets: list[LabelledSplit], tmp_path: Path
) -> None:
    features = write_feature_splits(tmp_path / "features", rows=120)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = train(
        features, PARAMS, tmp_path / "out", uri, data_version_override="t", labelled=sets
    )
    figures = (result.models or {})[BASELINE]
    assert {"real_team_accuracy", "real_team_f1"} <= set(figures)
    run = mlflow.get_run(result.run_id)
    assert run.data.metrics["real_team_f1"] == pytest.approx(figures["real_team_f1"])
    assert run.data.params["rows_labelled"] == str(WEIGHT * len(sets[0].train))
    contexts = {i.tags[0].value for i in run.inputs.dataset_inputs if i.tags}
    assert {"labelled-train", "labelled-heldout"} <= contexts
    write_metrics(result, tmp_path / "train.json")
    listed = json.loads((tmp_path / "train.json").read_text())[BASELINE]
    assert {"real_team_accuracy", "real_team_f1"} <= set(listed)
