"""The real-data importer: every broken row lands in rejects.csv with its reason."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tweetcare.cli.data import app
from tweetcare.core.errors import UserError
from tweetcare.data.importer import REJECT_REASONS, import_twcs

HEADER = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
DATE = "Tue Oct 31 22:10:47 +0000 2017"
ROWS = [
    f"1,acme,False,{DATE},@115712 Sorry to hear that ^JK,2,3\n",  # good
    f"3,115712,True,{DATE},@acme my order is late,1,\n",  # good
    f"4,115713,maybe,{DATE},@acme hello,,\n",  # bad_inbound
    f"5,115713,True,{DATE},   ,,\n",  # empty_text
    f"3,115714,True,{DATE},@acme duplicate id,,\n",  # duplicate_tweet_id
    "6,115715,True,yesterday,@acme when?,,\n",  # unparsable_created_at
    f"x7,115716,True,{DATE},@acme hi,,\n",  # broken_ids (tweet id)
    f"8,115717,True,{DATE},@acme hi,abc,\n",  # broken_ids (reply id)
    f'9,115718,TRUE,{DATE},"@acme two\nlines",,2.0\n',  # good: normalised inbound and id
]


@pytest.fixture
def broken_csv(tmp_path: Path) -> Path:
    path = tmp_path / "twcs.csv"
    path.write_text(HEADER + "".join(ROWS), encoding="utf-8")
    return path


@pytest.mark.parametrize("chunksize", [2, 1000])
def test_each_reject_reason_is_counted(broken_csv: Path, tmp_path: Path, chunksize: int) -> None:
    report = import_twcs(broken_csv, tmp_path / "out", chunksize=chunksize)
    assert report.accepted == 3
    assert report.rejected == {
        "broken_ids": 2,
        "bad_inbound": 1,
        "empty_text": 1,
        "unparsable_created_at": 1,
        "duplicate_tweet_id": 1,
    }
    assert report.total == len(ROWS)
    rejects = pd.read_csv(report.rejects_path, dtype=str, keep_default_na=False)
    assert set(rejects["reason"]) == set(REJECT_REASONS)
    assert sorted(rejects.loc[rejects["reason"] == "broken_ids", "tweet_id"]) == ["8", "x7"]


def test_accepted_rows_are_normalised_twcs(broken_csv: Path, tmp_path: Path) -> None:
    report = import_twcs(broken_csv, tmp_path / "out")
    good = pd.read_csv(report.twcs_path, dtype=str, keep_default_na=False)
    assert list(good["tweet_id"]) == ["1", "3", "9"]
    assert list(good["inbound"]) == ["False", "True", "True"]
    assert good.loc[2, "in_response_to_tweet_id"] == "2"
    assert good.loc[2, "text"] == "@acme two\nlines"


def test_missing_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file"):
        import_twcs(tmp_path / "absent.csv", tmp_path / "out")


def test_binary_file_is_a_user_error(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(UserError, match="not a readable CSV"):
        import_twcs(path, tmp_path / "out")


def test_wrong_columns_are_a_user_error(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("id,body\n1,hello\n", encoding="utf-8")
    with pytest.raises(UserError, match="missing columns tweet_id"):
        import_twcs(path, tmp_path / "out")


def test_cli_import_prints_counts(broken_csv: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["import", str(broken_csv), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "duplicate_tweet_id" in result.output
    assert (tmp_path / "o" / "rejects.csv").is_file()


def test_cli_import_missing_file_raises_user_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["import", str(tmp_path / "nope.csv")])
    assert isinstance(result.exception, UserError)


def test_cli_generate_writes_both_files(tmp_path: Path) -> None:
    out = tmp_path / "data"
    args = ["generate", "--rows", "200", "--seed", "5", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    tweets = pd.read_csv(out / "twcs.csv")
    labels = pd.read_csv(out / "labels.csv")
    assert len(tweets) == len(labels) == 200
    assert "twcs.csv" in result.output
