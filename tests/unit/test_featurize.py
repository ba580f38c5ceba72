"""Featurize adds masked and unmasked clean text to every split and keeps the rest intact."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipelines.featurize import featurize, featurize_frame
from tweetcare.core.errors import UserError
from tweetcare.core.text import BRAND_TOKEN, URL_TOKEN, USER_TOKEN

FRAME = pd.DataFrame(
    {
        "tweet_id": ["1", "2"],
        "inbound": [True, False],
        "text": ["@AcmeHelp my order &amp; refund?", "@12345 see https://t.co/x ^JK"],
    }
)


def test_masked_and_raw_variants() -> None:
    out = featurize_frame(FRAME, mask_handles=True)
    assert out["clean_text"].tolist() == [
        f"{BRAND_TOKEN} my order & refund?",
        f"{USER_TOKEN} see {URL_TOKEN} ^jk",
    ]
    assert out["clean_text_raw"].tolist() == [
        "@acmehelp my order & refund?",
        f"@12345 see {URL_TOKEN} ^jk",
    ]
    pd.testing.assert_frame_equal(out[FRAME.columns], FRAME)


def test_mask_off_makes_both_columns_equal() -> None:
    out = featurize_frame(FRAME, mask_handles=False)
    assert out["clean_text"].tolist() == out["clean_text_raw"].tolist()


def test_featurize_writes_every_split(tmp_path: Path) -> None:
    splits = tmp_path / "splits"
    splits.mkdir()
    for name in ("train", "val", "test"):
        FRAME.to_parquet(splits / f"{name}.parquet", index=False)
    rows = featurize(splits, True, tmp_path / "features")
    assert rows == {"test": 2, "train": 2, "val": 2}
    written = pd.read_parquet(tmp_path / "features" / "val.parquet")
    assert {"clean_text", "clean_text_raw"} <= set(written.columns)


def test_missing_splits_are_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="dvc repro split"):
        featurize(tmp_path, True, tmp_path / "features")
