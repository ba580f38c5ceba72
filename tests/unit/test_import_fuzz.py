"""`tweetcare data import` fuzzed with hostile files: sizes, encodings, control characters, NUL
bytes, SQL and HTML metacharacters. Each file is imported (every row accepted or counted as a
reject, the accepted ones valid) or refused in one line, leaving no dataset and no partial file."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tweetcare.cli import app
from tweetcare.core.errors import UserError
from tweetcare.core.schemas import TWCS_COLUMNS

runner = CliRunner()
DATE = "Tue Oct 31 22:10:47 +0000 2017"
HOSTILE = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=30),
    st.sampled_from(
        [
            "'; DROP TABLE tweets; --",
            '<script>alert("x")</script>',
            "**bold** [link](http://x)",
            '=HYPERLINK("http://x")',
            "a,b\nc",
            '"',
            "\r",
            "\x00",
            "\u2028",
            "\ufeff",
            "NaN",
            "",
            "   ",
            "1e400",
            "-1",
            "99999999999999999999999999",
        ]
    ),
    st.integers(2_000, 100_000).map(lambda n: "y" * n),
)
# a column holds a plausible value or a hostile one
VALUES = {
    "tweet_id": st.one_of(st.integers(1, 10**12).map(str), HOSTILE),
    "author_id": st.one_of(st.sampled_from(["115712", "AmazonHelp"]), HOSTILE),
    "inbound": st.one_of(st.sampled_from(["True", "False", "TRUE"]), HOSTILE),
    "created_at": st.one_of(st.just(DATE), HOSTILE),
    "text": st.one_of(st.just("@AmazonHelp where is my parcel"), HOSTILE),
    "response_tweet_id": st.one_of(st.just(""), st.just("1,2"), HOSTILE),
    "in_response_to_tweet_id": st.one_of(st.just(""), st.just("3.0"), HOSTILE),
}
ENCODINGS = ("utf-8", "utf-8-sig", "latin-1", "utf-16", "cp1252")


@st.composite
def hostile_files(draw: st.DrawFn) -> tuple[bytes, int]:
    """A twcs-shaped CSV of hostile rows in some encoding (and how many rows it holds), or junk."""
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(st.binary(max_size=300)), 0
    columns = list(TWCS_COLUMNS)
    if kind == 1:  # a header that is not quite twcs's
        columns = draw(st.permutations(columns))[: draw(st.integers(1, len(columns)))]
    rows = draw(st.lists(st.fixed_dictionaries({c: VALUES[c] for c in columns}), max_size=6))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    encoding = draw(st.sampled_from(ENCODINGS))
    content = out.getvalue().encode(encoding, errors="replace")
    return content + draw(st.sampled_from([b"", b"\xff\xfe", b"\x00", b"\n,,,\n"])), len(rows)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(drawn=hostile_files())
def test_a_hostile_file_is_imported_row_by_row_or_refused_in_one_line(
    drawn: tuple[bytes, int],
) -> None:
    content, _ = drawn
    with tempfile.TemporaryDirectory() as folder:
        source, out = Path(folder) / "twcs.csv", Path(folder) / "out"
        source.write_bytes(content)
        result = runner.invoke(app, ["data", "import", str(source), "--out", str(out)])
        left = sorted(p.name for p in out.iterdir()) if out.exists() else []
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            assert isinstance(result.exception, UserError), repr(result.exception)
            assert str(result.exception).strip()
            assert left == []  # nothing half-written, not even a temporary file
            return
        assert result.exit_code == 0, result.output
        assert left == ["rejects.csv", "twcs.csv"]
        accepted = pd.read_csv(out / "twcs.csv", dtype=str, keep_default_na=False)
        rejects = pd.read_csv(out / "rejects.csv", dtype=str, keep_default_na=False)
        assert list(accepted.columns) == list(TWCS_COLUMNS)
        assert accepted["tweet_id"].str.fullmatch(r"\d+").all()
        assert accepted["tweet_id"].is_unique
        assert accepted["inbound"].isin(["True", "False"]).all()
        assert (accepted["text"].str.strip() != "").all()
        [total] = [line for line in result.output.splitlines() if "total" in line]
        assert f"{len(accepted) + len(rejects):,}" in total  # every row accepted or a reject
