"""`tweetcare data labels import`: a labelled CSV becomes a checked set, or is refused with one
line naming the row, and then nothing is written."""

from __future__ import annotations

import csv
import io
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tweetcare import cli
from tweetcare.cli import app
from tweetcare.core.errors import UserError
from tweetcare.data.labelled import (
    LABELLED_COLUMNS,
    allowed_labels,
    normalise_label,
    read_labelled_sets,
    write_labelled_set,
)

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def project(tmp_path: Path) -> tuple[Path, Path]:
    """(params.yaml, labelled root): the repository's params with data.labelled in tmp_path."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    labelled = tmp_path / "labelled"
    params["data"]["labelled"] = str(labelled)
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(params))
    return params_file, labelled


def run(tmp_path: Path, source: Path, *args: str, dvc_file: str = "") -> object:
    """The import through the root app, its report and state in tmp_path."""
    params_file, _ = project(tmp_path)
    return runner.invoke(
        app,
        [
            *("data", "labels", "import", str(source), *args),
            *("--params", str(params_file), "--dvc-file", dvc_file),
            *("--report-dir", str(tmp_path / "reports")),
        ],
    )


def refusal(result: object) -> str:
    """The one line `tweetcare` prints for a refused file (main() exits 2 with it)."""
    assert isinstance(result.exception, UserError), result.output  # type: ignore[attr-defined]
    message = str(result.exception)  # type: ignore[attr-defined]
    assert "\n" not in message
    return message


def write(tmp_path: Path, content: str | bytes, name: str = "helpdesk.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_good_file_is_mapped_normalised_and_written(tmp_path: Path) -> None:
    source = write(
        tmp_path,
        "id,thread,body,mood\n"
        "7,c1,  @acme my parcel is late ,NEG\n"
        '8,c1,"@acme thanks, a lot", Positive \n'
        "9,c2,@ACME   my parcel is LATE,neg\n"  # the same text and label: kept once
        "10,c3,@acme what now?,Can't Tell\n"  # mapped to no label, skipped
        "11,c4,<b>'; DROP TABLE tweets;--</b>,neutral\n",
    )
    result = run(
        tmp_path,
        source,
        "--task=sentiment",
        "--name=help_desk-1",
        "--text-column=body",
        "--label-column=mood",
        "--id-column=id",
        "--conversation-column=thread",
        "--map=NEG=negative",
        "--map=Can't Tell=",
        "--skip-empty",
    )
    assert result.exception is None, result.output
    target = tmp_path / "labelled" / "sentiment" / "help_desk-1.csv"
    written = pd.read_csv(target, dtype=str, keep_default_na=False)
    assert tuple(written.columns) == LABELLED_COLUMNS
    assert written.values.tolist() == [
        ["7", "c1", "@acme my parcel is late", "negative"],
        ["8", "c1", "@acme thanks, a lot", "positive"],
        ["11", "c4", "<b>'; DROP TABLE tweets;--</b>", "neutral"],
    ]
    for says in ("rows read", "5", "skipped: empty label", "dropped: duplicates", str(target)):
        assert says in result.output
    sets = read_labelled_sets(tmp_path / "labelled", "sentiment")
    assert list(sets) == ["help_desk-1"] and sets["help_desk-1"].equals(written.astype(str))
    assert (tmp_path / "reports" / "labelled_sentiment_help_desk-1.json").is_file()


def test_default_ids_name_each_row_and_each_tweet_is_its_conversation(tmp_path: Path) -> None:
    source = write(tmp_path, "text,label\nneeds a ticket,Y\nall good,0\n", "Old Desk.csv")
    result = run(tmp_path, source, "--task", "needs_ticket", "--name", "old-desk")
    assert result.exception is None, result.output
    (frame,) = read_labelled_sets(tmp_path / "labelled", "needs_ticket").values()
    assert frame.values.tolist() == [
        ["old-desk-2", "old-desk-2", "needs a ticket", "yes"],
        ["old-desk-3", "old-desk-3", "all good", "no"],
    ]


@pytest.mark.parametrize(
    ("task", "spellings", "stored"),
    [
        ("needs_ticket", ["yes", " YES", "true", "1", "y"], "yes"),
        ("needs_ticket", ["no", "False", "0", "N "], "no"),
        ("inbound", ["True", "yes", "1"], "true"),
        ("inbound", ["FALSE", "no", "0"], "false"),
        ("category", [" Travel ", "TRAVEL"], "travel"),
    ],
)
def test_labels_are_normalised(task: str, spellings: list[str], stored: str) -> None:
    assert {normalise_label(task, s) for s in spellings} == {stored}
    assert stored in allowed_labels(task)


def test_dvc_records_the_new_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recorded: list[Path] = []
    monkeypatch.setattr("tweetcare.cli.data.record_data_version", recorded.append)
    monkeypatch.setattr("training.model_card.data_version", lambda _: "abc123.dir")
    dvc_file = write(tmp_path, "outs: []\n", "data.dvc")
    source = write(tmp_path, "text,label\nhi there,positive\n")
    result = run(tmp_path, source, "--task", "sentiment", dvc_file=str(dvc_file))
    assert result.exception is None, result.output
    assert recorded == [dvc_file] and "abc123.dir" in result.output


GOOD_HEADER = "text,label\n"


@pytest.mark.parametrize(
    ("content", "args", "says"),
    [
        (
            "tweet,sentiment\nhi,positive\n",
            [],
            ["no columns 'text', 'label'", "its columns are 'tweet', 'sentiment'"],
        ),
        (GOOD_HEADER + "hi,positive\nugh,angry\n", [], ["row 3: label 'angry'", "negative"]),
        (GOOD_HEADER + "hi,positive\n   ,negative\n", [], ["row 3: empty text"]),
        (GOOD_HEADER + "hi,positive\nugh,\n", [], ["row 3: empty label in column 'label'"]),
        (GOOD_HEADER + "hi,positive\nugh,Can't Tell\n", ["--map", "Can't Tell="], ["row 3"]),
        (
            b"text,label\nhi,positive\ncaf\xe9 au lait,neutral\n",
            [],
            ["not UTF-8", "0xe9 at line 3"],
        ),
        (
            GOOD_HEADER + "Thanks!,positive\nok,neutral\n  THANKS! ,neutral\n",
            [],
            ["rows 2 and 4", "same text", "'positive' and 'neutral'", "--drop-conflicts"],
        ),
        (GOOD_HEADER + "hi,positive\n", ["--map", "Late Flight"], ["'Late Flight' is not OLD=NEW"]),
        (GOOD_HEADER + "hi,positive\n", ["--map", "meh=meh"], ["'meh' is not a sentiment label"]),
        (GOOD_HEADER + "hi,positive\n", ["--name", "../../etc"], ["not a safe name"]),
        (GOOD_HEADER + "hi,positive\n", ["--name", "Bad Name"], ["--name bad-name"]),
        (GOOD_HEADER + "hi,positive\n", ["--task", "mood"], ["unknown task 'mood'"]),
        (
            "id,text,label\n5,hi,positive\n5,bye,negative\n",
            ["--id-column", "id"],
            ["rows 2 and 3 share tweet_id '5' (column 'id')"],
        ),
        (
            GOOD_HEADER + "hi,positive\nbell \a,neutral\n",
            [],
            ["row 3", "control character (U+0007)"],
        ),
        (GOOD_HEADER + "hi,positive\n" + "x" * 1001 + ",neutral\n", [], ["row 3", "1,001 char"]),
        (GOOD_HEADER + "hi,positive\nugh,negative,extra\n", [], ["row 3 has 3 fields"]),
        (GOOD_HEADER + 'hi,positive\n"open quote,negative\n', [], ["row 3 is not valid CSV"]),
        ("", [], ["is empty"]),
        (GOOD_HEADER + "hi,\n", ["--skip-empty"], ["no labelled rows"]),
    ],
)
def test_a_bad_file_is_refused_with_its_row_and_nothing_is_written(
    tmp_path: Path, content: str | bytes, args: list[str], says: list[str]
) -> None:
    source = write(tmp_path, content)
    dvc_file = write(tmp_path, "outs: [{path: data}]\n", "data.dvc")
    task = [] if "--task" in args else ["--task", "sentiment"]
    message = refusal(run(tmp_path, source, *task, *args, dvc_file=str(dvc_file)))
    for part in says:
        assert part in message
    assert not (tmp_path / "labelled").exists()
    assert dvc_file.read_text() == "outs: [{path: data}]\n"


def test_a_refused_file_leaves_the_earlier_set_as_it_was(tmp_path: Path) -> None:
    good = write(tmp_path, GOOD_HEADER + "hi,positive\n", "desk.csv")
    assert run(tmp_path, good, "--task", "sentiment").exception is None
    target = tmp_path / "labelled" / "sentiment" / "desk.csv"
    before = target.read_bytes()
    bad = write(tmp_path, GOOD_HEADER + "hi,positive\nugh,furious\n", "desk2.csv")
    refusal(run(tmp_path, bad, "--task", "sentiment", "--name", "desk"))
    assert target.read_bytes() == before
    assert [p.name for p in target.parent.iterdir()] == ["desk.csv"]


def test_main_exits_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    params_file, _ = project(tmp_path)
    source = write(tmp_path, GOOD_HEADER + "hi,positive\n\n  hi ,negative\n")
    monkeypatch.setattr(
        sys,
        "argv",
        [
            *("tweetcare", "data", "labels", "import", str(source), "--task", "sentiment"),
            *("--params", str(params_file), "--dvc-file", ""),
            *("--report-dir", str(tmp_path / "reports")),
        ],
    )
    assert cli.main() == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "rows 2 and 4 have the same text" in err


def test_conflicts_can_be_dropped(tmp_path: Path) -> None:
    source = write(tmp_path, GOOD_HEADER + "a,positive\nb,neutral\nA,negative\na,positive\n")
    result = run(tmp_path, source, "--task", "sentiment", "--drop-conflicts")
    assert result.exception is None, result.output
    (frame,) = read_labelled_sets(tmp_path / "labelled", "sentiment").values()
    assert frame["text"].tolist() == ["b"]


def test_reader_and_writer(tmp_path: Path) -> None:
    assert read_labelled_sets(tmp_path / "nowhere", "category") == {}
    frame = pd.DataFrame([["1", "1", "NA", "travel"]], columns=list(LABELLED_COLUMNS))
    path = write_labelled_set(frame, tmp_path, "category", "set_a")
    (tmp_path / "category" / ".set_b.x.tmp").write_text("half a set")
    assert path == tmp_path / "category" / "set_a.csv"
    sets = read_labelled_sets(tmp_path, "category")
    assert list(sets) == ["set_a"] and sets["set_a"].values.tolist() == [["1", "1", "NA", "travel"]]
    with pytest.raises(UserError, match="not a safe name"):
        write_labelled_set(frame, tmp_path, "category", "a/b")


HOSTILE = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=40),
    st.sampled_from(
        [
            "'; DROP TABLE tweets; --",
            '<script>alert("x")</script>',
            '=HYPERLINK("http://x")',
            "a,b\nc",
            '"',
            "\r",
            "\x00",
            "\u2028",
            "NA",
            "",
            "   ",
        ]
    ),
    st.integers(900, 140_000).map(lambda n: "y" * n),
)
LABELS = st.one_of(st.sampled_from(["negative", " Neutral", "POSITIVE", "", "meh"]), HOSTILE)


@st.composite
def hostile_files(draw: st.DrawFn) -> tuple[bytes, list[tuple[str, str]]]:
    """A CSV of hostile rows (and the rows), now and then with junk bytes, or junk alone."""
    if draw(st.integers(0, 3)) == 0:
        return draw(st.binary(max_size=200)), []
    rows = draw(st.lists(st.tuples(HOSTILE, LABELS), min_size=1, max_size=5))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["text", "label"])
    writer.writerows(rows)
    return out.getvalue().encode() + draw(st.sampled_from([b"", b"\xff", b"\n,\n"])), rows


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(drawn=hostile_files(), skip_empty=st.booleans())
def test_hostile_files_are_written_valid_or_refused_in_one_line(
    drawn: tuple[bytes, list[tuple[str, str]]], skip_empty: bool
) -> None:
    content, rows = drawn
    with tempfile.TemporaryDirectory() as folder:
        tmp_path = Path(folder)
        source = write(tmp_path, content)
        args = ["--task", "sentiment"] + (["--skip-empty"] if skip_empty else [])
        result = run(tmp_path, source, *args)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            refusal(result)  # a UserError in one line: main() prints it and exits 2
            assert not (tmp_path / "labelled").exists()
            return
        assert result.exit_code == 0, result.output
        (frame,) = read_labelled_sets(tmp_path / "labelled", "sentiment").values()
        assert tuple(frame.columns) == LABELLED_COLUMNS
        assert frame["tweet_id"].is_unique
        # each written row is a drawn row, its text intact through the CSV round trip
        drawn_rows = {(text.strip(), normalise_label("sentiment", label)) for text, label in rows}
        assert set(zip(frame["text"], frame["label"], strict=True)) <= drawn_rows
        assert set(frame["label"]) <= set(allowed_labels("sentiment"))
