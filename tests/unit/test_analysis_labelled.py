"""Labelled sets in training: the conversation split, weights and the rows that train."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from training.analysis.data import generated_splits, has_analysis_labels
from training.analysis.labelled import (
    heldout_mask,
    labelled_splits,
    split_set,
    training_rows,
    weight_of,
)
from tweetcare.data.labelled import LABELLED_COLUMNS


def _set(conversations: int, per_conversation: int) -> pd.DataFrame:
    rows = [
        {
            "tweet_id": f"{c}-{t}",
            "conversation_id": f"c{c}",
            "text": f"tweet {t} of thread {c}",
            "label": "negative" if t % 2 else "neutral",
        }
        for c in range(conversations)
        for t in range(per_conversation)
    ]
    return pd.DataFrame(rows, columns=list(LABELLED_COLUMNS))


def test_no_conversation_spans_training_and_heldout() -> None:
    frame = _set(400, 3)
    split = split_set("team", "sentiment", frame, 0.3, 42, 1)
    train, held = set(split.train["conversation_id"]), set(split.heldout["conversation_id"])
    assert not train & held
    assert len(split.train) + len(split.heldout) == len(frame)
    # about the share asked for, and every thread whole on its side
    assert 0.2 < len(held) / 400 < 0.4
    assert (split.heldout.groupby("conversation_id").size() == 3).all()


def test_the_cut_is_stable_when_rows_are_added() -> None:
    small = heldout_mask(pd.Series([f"c{i}" for i in range(100)]), 0.3, 7)
    large = heldout_mask(pd.Series([f"c{i}" for i in range(300)]), 0.3, 7)
    assert small.tolist() == large[:100].tolist()
    assert heldout_mask(pd.Series(["c1"] * 5), 0.3, 7).nunique() == 1


def test_weights_repeat_training_rows_and_default_applies() -> None:
    assert weight_of("agents", {"agents": 3, "default": 1}) == 3
    assert weight_of("other", {"default": 2}) == 2
    assert weight_of("other", {}) == 1
    split = split_set("team", "category", _set(50, 2), 0.3, 1, 3)
    rows = training_rows([split], "category")
    assert len(rows) == 3 * len(split.train)
    assert set(rows.columns) >= {"text", "category", "opening", "flag"}
    assert rows["opening"].all() and (rows["flag"] == "").all()
    assert training_rows([split_set("none", "category", _set(50, 2), 0.3, 1, 0)], "x").empty


def test_sets_are_read_per_task(tmp_path: Path) -> None:
    folder = tmp_path / "labelled" / "sentiment"
    folder.mkdir(parents=True)
    _set(20, 2).to_csv(folder / "helpdesk.csv", index=False)
    sets = labelled_splits(tmp_path / "labelled", "sentiment", 0.3, 42, {"helpdesk": 2})
    assert [s.source for s in sets] == ["sentiment/helpdesk"]
    assert sets[0].weight == 2
    assert labelled_splits(tmp_path / "labelled", "category", 0.3, 42, {}) == []
    # weight 0 leaves the set out whole: no training, no score, no say at the gate
    assert labelled_splits(tmp_path / "labelled", "sentiment", 0.3, 42, {"helpdesk": 0}) == []
    assert labelled_splits(tmp_path / "missing", "category", 0.3, 42, {}) == []


def test_a_real_export_without_labels_trains_on_a_generated_base(tmp_path: Path) -> None:
    unlabelled = pd.DataFrame({"tweet_id": ["1"], "text": ["hi"], "inbound": [True]})
    unlabelled.to_parquet(tmp_path / "train.parquet")
    assert not has_analysis_labels(tmp_path)
    splits = generated_splits(400, 3, mask_handles=True)
    assert set(splits) == {"train", "val", "test"}
    seen = [set(frame["conversation_id"]) for frame in splits.values()]
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])
    train = splits["train"]
    assert {"category", "sentiment", "entities", "flag", "opening", "clean_text"} <= set(train)
    assert train["category"].notna().any() and train["opening"].any()


def test_a_tweet_the_corrections_hold_trains_through_them_only() -> None:
    split = split_set("agents", "category", _set(60, 2), 0.3, 1, 2)
    first = split.train["tweet_id"].iloc[0]
    rows = training_rows([split], "category", pd.DataFrame({"tweet_id": [first]}))
    assert first not in set(rows["tweet_id"])
    assert len(rows) == 2 * (len(split.train) - 1)
