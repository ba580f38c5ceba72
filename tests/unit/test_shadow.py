"""The live gate's evidence: champion and challenger answers on the same lake tweets."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import write_deltalake

from tweetcare.core.params import ShadowParams
from tweetcare.core.settings import Settings
from tweetcare.monitoring.shadow import (
    all_pairs,
    decide,
    evidence,
    read_shadow_scored,
    with_human_labels,
)


def scored(
    truth: list[bool | None], champion: list[bool], challenger: list[bool], pair: tuple[str, str]
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "tweet_id": [f"{pair[1]}-{i}" for i in range(len(truth))],
            "inbound": truth,
            "predicted_inbound": champion,
            "shadow_inbound": challenger,
            "model_version": pair[0],
            "shadow_model_version": pair[1],
        }
    )


def test_evidence_counts_agreement_and_who_was_right() -> None:
    frame = scored(
        truth=[True, True, False, False, None],
        champion=[True, False, False, True, True],
        challenger=[True, True, False, False, False],
        pair=("1", "2"),
    )
    found = evidence(frame, "1", "2")
    assert found.tweets == 5 and found.labelled == 4
    assert found.agreement == pytest.approx(2 / 5)
    assert found.champion_accuracy == pytest.approx(0.5)
    assert found.challenger_accuracy == pytest.approx(1.0)
    assert found.champion_f1 == pytest.approx(0.5) and found.challenger_f1 == pytest.approx(1.0)
    assert (found.champion_right_only, found.challenger_right_only) == (0, 2)


def test_pairs_are_kept_apart() -> None:
    frame = pd.concat(
        [
            scored([True] * 3, [True] * 3, [False] * 3, ("1", "2")),
            scored([True] * 2, [True] * 2, [True] * 2, ("1", "3")),
        ]
    )
    pairs = all_pairs(frame)
    assert [(p.challenger_version, p.tweets) for p in pairs] == [("2", 3), ("3", 2)]
    assert pairs[0].challenger_accuracy == 0.0 and pairs[1].challenger_accuracy == 1.0
    assert evidence(frame, "9", "2").tweets == 0 and evidence(frame, "9", "2").champion_f1 is None


def test_the_gate_wants_enough_evidence_and_a_real_gain() -> None:
    frame = scored([True, False] * 50, [True, True] * 50, [True, False] * 50, ("1", "2"))
    better = evidence(frame, "1", "2")
    assert decide(better, ShadowParams(min_tweets=100, min_f1_gain=0.0))[0] is True
    promote, why = decide(better, ShadowParams(min_tweets=101))
    assert not promote and "100 labelled tweets" in why and "shadow.min_tweets" in why
    promote, why = decide(better, ShadowParams(min_tweets=10, min_f1_gain=0.5))
    assert not promote and "does not beat" in why
    same = evidence(scored([True] * 20, [True] * 20, [True] * 20, ("1", "2")), "1", "2")
    assert decide(same, ShadowParams(min_tweets=10))[0] is False  # a tie keeps the champion


def test_reads_only_shadow_scored_rows_and_an_old_lake_has_none(tmp_path: Path) -> None:
    settings = Settings(lake_dir=tmp_path / "lake")
    assert read_shadow_scored(settings).empty  # no table yet
    old = pa.table({"tweet_id": ["1"], "inbound": [True], "predicted_inbound": [True]})
    write_deltalake(str(tmp_path / "lake" / "tweets"), old)
    assert read_shadow_scored(settings).empty  # written before shadow scoring existed
    rows = pa.Table.from_pandas(scored([True, False], [True, False], [True, True], ("1", "2")))
    unscored = pa.array([True, None]), pa.array(["2", None])
    rows = rows.set_column(3, "shadow_inbound", unscored[0])
    rows = rows.set_column(5, "shadow_model_version", unscored[1])
    write_deltalake(
        str(tmp_path / "lake" / "tweets"), rows, mode="overwrite", schema_mode="overwrite"
    )
    assert read_shadow_scored(settings)["tweet_id"].tolist() == ["2-0"]


def test_an_agents_correction_outranks_the_source_flag() -> None:
    frame = scored([True, True, False], [True, True, False], [False, True, False], ("1", "2"))
    # agents said tweet 0 was a brand's own tweet: the challenger had it right, not the champion
    labelled = with_human_labels(frame, {"2-0": False, "elsewhere": True})
    assert labelled["inbound"].tolist() == [False, True, False]
    found = evidence(labelled, "1", "2")
    assert found.human_labelled == 1 and found.labelled == 3
    assert (found.champion_right_only, found.challenger_right_only) == (0, 1)
    assert evidence(frame, "1", "2").human_labelled == 0  # without agents' labels
