"""The real-data importer: every broken row lands in rejects.csv with its reason."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tweetcare.cli.data import app
from tweetcare.core.errors import UserError
from tweetcare.data.importer import REJECT_REASONS, import_twcs

TWEETCARE = Path(sys.executable).with_name("tweetcare")
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


def _bytes_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_importing_a_file_onto_itself_keeps_its_rows(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    own = data / "twcs.csv"
    rows = [f"{i},c{i},True,{DATE},@acme order {i} is late,,\n" for i in range(50_000)]
    own.write_text(HEADER + "".join(rows), encoding="utf-8")  # many chunks, many read buffers
    args = ["import", str(own), "--out", str(data), "--chunksize", "1000"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    good = pd.read_csv(own, dtype=str, keep_default_na=False)
    assert list(good["tweet_id"]) == [str(i) for i in range(50_000)]
    assert sorted(p.name for p in data.iterdir()) == ["rejects.csv", "twcs.csv"]


@pytest.mark.parametrize("chunksize", [2, 1000])
def test_a_bad_byte_mid_file_leaves_the_old_dataset_as_it_was(
    broken_csv: Path, tmp_path: Path, chunksize: int
) -> None:
    out = tmp_path / "out"
    import_twcs(broken_csv, out)
    before = _bytes_of(out)
    bad = tmp_path / "bad.csv"
    bad.write_bytes((HEADER + "".join(ROWS[:4])).encode() + b"10,x,True,y,\xff\xfe bad,,\n")
    with pytest.raises(UserError, match="could not be read as CSV"):
        import_twcs(bad, out, chunksize=chunksize)
    assert _bytes_of(out) == before  # no partial file left behind either


def test_an_import_killed_mid_file_leaves_the_old_dataset_and_the_next_cleans_up(
    broken_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    import_twcs(broken_csv, out)
    before = _bytes_of(out)
    big = tmp_path / "big.csv"
    with big.open("w", encoding="utf-8") as f:
        f.write(HEADER)
        f.writelines(f"{i},c{i},True,{DATE},@acme order {i} is late,,\n" for i in range(300_000))
    env = {**os.environ, "COLUMNS": "200"}
    args = [str(TWEETCARE), "data", "import", str(big), "--out", str(out), "--chunksize", "500"]
    importing = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        partial = out / f".twcs.csv.{importing.pid}.partial"
        # mid-import: the new dataset is being written beside the old one
        while not (partial.exists() and partial.stat().st_size > 0):
            assert importing.poll() is None, importing.stderr.read() if importing.stderr else ""
            time.sleep(0.01)
        importing.send_signal(signal.SIGKILL)
    finally:
        importing.wait()
    assert importing.returncode == -signal.SIGKILL
    assert partial.exists()  # what a kill -9 leaves: a hidden partial, the old files intact
    assert {k: v for k, v in _bytes_of(out).items() if not k.startswith(".")} == before

    report = import_twcs(broken_csv, out, chunksize=2)  # the next import removes the leftover
    assert report.accepted == 3
    assert _bytes_of(out) == before
