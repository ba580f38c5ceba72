"""Splitting by conversation: no thread crosses splits, sizes and label mix hold, same seed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipelines.split import SPLIT_COLUMNS, SPLITS, assign_splits, load_tweets, split
from tests.fixtures.twcs import labels_frame, twcs_frame, write_twcs
from tweetcare.core.errors import UserError
from tweetcare.core.params import SplitParams
from tweetcare.core.schemas import LABEL_COLUMNS

CONVERSATIONS = 600  # 1,400 tweets


def params(train: int = 600, val: int = 200, test: int = 200, seed: int = 7) -> SplitParams:
    return SplitParams(
        profile="tiny", seed=seed, profiles={"tiny": {"train": train, "val": val, "test": test}}
    )


@pytest.fixture(scope="module")
def tweets(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    raw = write_twcs(twcs_frame(CONVERSATIONS), tmp_path_factory.mktemp("raw") / "twcs.csv")
    return load_tweets(raw)


def test_no_conversation_crosses_splits(tweets: pd.DataFrame) -> None:
    assigned, _ = assign_splits(tweets, params())
    owners = tweets.loc[assigned.index].assign(split=assigned)
    assert owners.groupby("conversation_id")["split"].nunique().max() == 1
    assert set(assigned) == set(SPLITS)


def test_sizes_follow_the_profile_within_a_thread_or_two(tweets: pd.DataFrame) -> None:
    assigned, warnings = assign_splits(tweets, params(train=600, val=200, test=200))
    rows = assigned.value_counts()
    assert warnings == []
    assert 990 <= len(assigned) <= 1010  # whole threads of 2-3 tweets overshoot a little
    for name, asked in {"train": 600, "val": 200, "test": 200}.items():
        assert abs(rows[name] - asked) <= 0.15 * asked


def test_stratification_keeps_the_inbound_share(tweets: pd.DataFrame) -> None:
    assigned, _ = assign_splits(tweets, params())
    overall = tweets["inbound"].mean()
    shares = tweets.loc[assigned.index].groupby(assigned)["inbound"].mean()
    assert (shares - overall).abs().max() < 0.03


def test_same_seed_same_split_other_seed_differs(tweets: pd.DataFrame) -> None:
    first, _ = assign_splits(tweets, params(seed=1))
    again, _ = assign_splits(tweets, params(seed=1))
    other, _ = assign_splits(tweets, params(seed=2))
    pd.testing.assert_series_equal(first, again)
    assert not first.sort_index().equals(other.sort_index())


def test_fewer_rows_than_asked_takes_all_proportionally_and_warns(tweets: pd.DataFrame) -> None:
    assigned, warnings = assign_splits(tweets, params(train=6000, val=2000, test=2000))
    assert len(assigned) == len(tweets)
    assert len(warnings) == 1 and "only 1400 tweets" in warnings[0]
    share = assigned.value_counts(normalize=True)
    assert share["train"] == pytest.approx(0.6, abs=0.05)


def test_unknown_profile_is_a_user_error(tweets: pd.DataFrame) -> None:
    bad = params().model_copy(update={"profile": "huge"})
    with pytest.raises(UserError, match="unknown split profile 'huge'"):
        assign_splits(tweets, bad)


def test_split_writes_parquet_with_labels_joined(tmp_path: Path) -> None:
    frame = twcs_frame(200)
    raw = write_twcs(frame, tmp_path / "data" / "twcs.csv")
    labels = write_twcs(labels_frame(frame), tmp_path / "data" / "labels.csv")

    report = split(raw, labels, params(train=240, val=80, test=80), tmp_path / "splits")

    assert report.labelled and report.warnings == []
    parts = {n: pd.read_parquet(tmp_path / "splits" / f"{n}.parquet") for n in SPLITS}
    for name, part in parts.items():
        assert list(part.columns) == [*SPLIT_COLUMNS, *LABEL_COLUMNS[1:]]
        assert part["inbound"].dtype == bool
        assert len(part) == report.rows[name]
        # the join lines labels up by tweet: customer tweets need a ticket here
        assert (part["needs_ticket"] == part["inbound"]).all()
    threads = [set(p["conversation_id"]) for p in parts.values()]
    assert not (threads[0] & threads[1] or threads[0] & threads[2] or threads[1] & threads[2])


def test_split_without_labels_file_skips_the_join(tmp_path: Path) -> None:
    raw = write_twcs(twcs_frame(100), tmp_path / "twcs.csv")
    report = split(raw, tmp_path / "labels.csv", params(100, 40, 40), tmp_path / "out")
    assert not report.labelled
    assert list(pd.read_parquet(tmp_path / "out" / "train.parquet").columns) == list(SPLIT_COLUMNS)


def test_split_with_one_class_fails_validation(tmp_path: Path) -> None:
    frame = twcs_frame(60)
    frame = frame[frame["inbound"] == "True"]
    raw = write_twcs(frame, tmp_path / "twcs.csv")
    with pytest.raises(UserError, match="expect_column_distinct_values_to_equal_set"):
        split(raw, None, params(60, 20, 20), tmp_path / "out")
    assert not (tmp_path / "out").exists()
