"""The raw-data suite: good twcs passes, each kind of bad data fails by name (real GE, tiny data)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pipelines.expectations import DANGLING_PARENT, INBOUND_FLAG, raw_validation_frame
from pipelines.validate import DATA_DOCS_DIR, SUMMARY_FILE, ValidationSummary, read_raw, validate
from tests.fixtures.twcs import twcs_frame, write_twcs
from tweetcare.core.errors import UserError
from tweetcare.core.params import ValidateParams

PARAMS = ValidateParams(
    min_text_chars=1,
    max_text_chars=280,
    min_inbound_share=0.3,
    max_inbound_share=0.8,
    max_dangling_parent_share=0.2,
)


@pytest.fixture(scope="module")
def good_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[ValidationSummary, Path]:
    tmp = tmp_path_factory.mktemp("good")
    raw = write_twcs(twcs_frame(30), tmp / "twcs.csv")
    return validate(raw, PARAMS, tmp / "reports"), tmp / "reports"


def test_good_data_passes_every_expectation(good_run: tuple[ValidationSummary, Path]) -> None:
    summary, _ = good_run
    assert summary.success
    assert summary.failed == 0
    assert summary.evaluated >= 15
    assert {r.expectation for r in summary.results} >= {
        "expect_column_values_to_be_unique",
        "expect_column_values_to_be_in_set",
        "expect_column_mean_to_be_between",
        "expect_column_value_lengths_to_be_between",
    }


def test_summary_json_and_data_docs_written(good_run: tuple[ValidationSummary, Path]) -> None:
    summary, reports = good_run
    written = json.loads((reports / SUMMARY_FILE).read_text())
    assert written["success"] is True
    assert written["rows"] == summary.rows == len(twcs_frame(30))
    index = reports / DATA_DOCS_DIR / "index.html"
    assert summary.data_docs_index == str(index)
    assert "raw_twcs" in index.read_text()
    assert list((reports / DATA_DOCS_DIR / "validations").rglob("*.html"))


def test_bad_rows_fail_naming_each_expectation_and_value(tmp_path: Path) -> None:
    frame = twcs_frame(30)
    frame.loc[1, "tweet_id"] = frame.loc[0, "tweet_id"]
    frame.loc[2, "text"] = ""
    frame.loc[3, "inbound"] = "yes"
    frame.loc[4, "text"] = "   "
    raw = write_twcs(frame, tmp_path / "twcs.csv")

    with pytest.raises(UserError) as failure:
        validate(raw, PARAMS, tmp_path / "reports")

    message = str(failure.value)
    assert "expect_column_values_to_be_unique on column 'tweet_id'" in message
    assert "expect_column_values_to_be_in_set on column 'inbound'" in message
    assert "'yes'" in message
    assert "expect_column_values_to_not_be_null on column 'text'" in message
    assert "expect_column_values_to_match_regex on column 'text'" in message
    written = json.loads((tmp_path / "reports" / SUMMARY_FILE).read_text())
    assert written["success"] is False
    assert written["failed"] == 4


def test_missing_column_and_skewed_share_fail(tmp_path: Path) -> None:
    frame = twcs_frame(30).drop(columns=["author_id"])
    frame["inbound"] = "True"
    raw = write_twcs(frame, tmp_path / "twcs.csv")

    with pytest.raises(UserError) as failure:
        validate(raw, PARAMS, tmp_path / "reports")

    message = str(failure.value)
    assert "expect_column_to_exist on column 'author_id'" in message
    assert "expect_column_mean_to_be_between on column 'inbound_flag': observed 1.0" in message


def test_derived_columns_flag_share_and_dangling_parents() -> None:
    frame = twcs_frame(3).astype(object).where(lambda f: f != "", None)
    frame.loc[0, "in_response_to_tweet_id"] = "999"
    derived = raw_validation_frame(frame)
    assert derived[INBOUND_FLAG].tolist() == (frame["inbound"] == "True").astype(float).tolist()
    assert derived[DANGLING_PARENT].dropna().tolist() == ["999"]


def test_missing_or_unreadable_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="tweetcare data generate"):
        read_raw(tmp_path / "absent.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(UserError, match="not a readable twcs CSV"):
        read_raw(empty)


def test_read_raw_keeps_text_that_looks_like_missing(tmp_path: Path) -> None:
    frame = twcs_frame(2)
    frame.loc[0, "text"] = "NA"
    raw = write_twcs(frame, tmp_path / "twcs.csv")
    read = read_raw(raw)
    assert read.loc[0, "text"] == "NA"
    assert pd.isna(read.loc[0, "in_response_to_tweet_id"])
