"""Import a real Kaggle twcs.csv: check every row, keep the good ones, set aside the rest.

The full file has 2.8M rows, so it is read in chunks (memory stays flat). Rows that cannot be
used are written to ``rejects.csv`` with the reason, never dropped silently. Both files are
written beside their targets and renamed over them only once the whole input has been read, so
importing a file onto itself works, and a bad byte mid-file or a killed import leaves the old
dataset as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tweetcare.core.atomic import replacing
from tweetcare.core.errors import UserError
from tweetcare.core.schemas import TWCS_COLUMNS, TWCS_DATE_FORMAT

# Reject reasons, in the order they are checked (a row gets the first that applies).
BROKEN_IDS = "broken_ids"
BAD_INBOUND = "bad_inbound"
EMPTY_TEXT = "empty_text"
BAD_CREATED_AT = "unparsable_created_at"
DUPLICATE_ID = "duplicate_tweet_id"
REJECT_REASONS: tuple[str, ...] = (
    BROKEN_IDS,
    BAD_INBOUND,
    EMPTY_TEXT,
    BAD_CREATED_AT,
    DUPLICATE_ID,
)

_ID = r"\d+"
_ID_LIST = r"\d+(?:,\d+)*"
_SNIFF_BYTES = 4096  # how much of a file to look at for binary content
_INBOUND = {"true": "True", "false": "False"}


@dataclass
class ImportReport:
    """What an import wrote: counts of accepted rows and of rejects per reason."""

    twcs_path: Path
    rejects_path: Path
    accepted: int = 0
    rejected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REJECT_REASONS, 0))

    @property
    def total(self) -> int:
        return self.accepted + sum(self.rejected.values())


def check_header(path: Path) -> None:
    """UserError unless ``path`` is a readable UTF-8 CSV whose header names every twcs column."""
    if not path.exists():
        raise UserError(f"no such file: {path}")
    if not path.is_file():
        raise UserError(f"not a file: {path}")
    with path.open("rb") as f:
        if b"\0" in f.read(_SNIFF_BYTES):
            raise UserError(f"{path} is not a readable CSV file (it holds binary data)")
    try:
        header = pd.read_csv(path, nrows=0, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise UserError(f"{path} is not a readable CSV file ({type(err).__name__})") from err
    missing = [c for c in TWCS_COLUMNS if c not in header.columns]
    if missing:
        raise UserError(
            f"{path} does not look like twcs.csv: missing columns {', '.join(missing)}; "
            f"expected {', '.join(TWCS_COLUMNS)}"
        )


def _normalise_id(ids: pd.Series) -> pd.Series:
    """Strip spaces and the ``.0`` pandas leaves on ids it once read as floats."""
    return ids.str.strip().str.replace(r"\.0$", "", regex=True)


def _normalise_id_list(ids: pd.Series) -> pd.Series:
    return ids.str.replace(" ", "", regex=False).str.replace(r"\.0(?=,|$)", "", regex=True)


def _classify(chunk: pd.DataFrame, seen: set[int]) -> tuple[pd.DataFrame, pd.Series]:
    """Normalised chunk and a reason per row ("" for rows that are accepted)."""
    out = chunk.copy()
    out["tweet_id"] = _normalise_id(out["tweet_id"])
    out["in_response_to_tweet_id"] = _normalise_id(out["in_response_to_tweet_id"])
    out["response_tweet_id"] = _normalise_id_list(out["response_tweet_id"])
    out["author_id"] = out["author_id"].str.strip()
    inbound = out["inbound"].str.strip().str.lower().map(_INBOUND)
    created = pd.to_datetime(
        out["created_at"].str.strip(), format=TWCS_DATE_FORMAT, errors="coerce"
    )

    reply = out["in_response_to_tweet_id"]
    responses = out["response_tweet_id"]
    broken = (
        ~out["tweet_id"].str.fullmatch(_ID)
        | ~(reply.eq("") | reply.str.fullmatch(_ID))
        | ~(responses.eq("") | responses.str.fullmatch(_ID_LIST))
    )
    reason = pd.Series("", index=out.index, dtype=object)
    checks = (
        (BROKEN_IDS, broken),
        (BAD_INBOUND, inbound.isna()),
        (EMPTY_TEXT, out["text"].str.strip().eq("")),
        (BAD_CREATED_AT, created.isna()),
    )
    for name, failed in checks:
        reason = reason.mask(reason.eq("") & failed, name)

    ok = reason.eq("")
    ids = pd.to_numeric(out["tweet_id"].where(ok), errors="coerce")
    dup = ok & (ids.duplicated() | ids.isin(seen))
    reason = reason.mask(dup, DUPLICATE_ID)
    seen.update(int(i) for i in ids[ok & ~dup])
    out["inbound"] = inbound.fillna(out["inbound"])
    out["created_at"] = out["created_at"].str.strip()
    return out, reason


def import_twcs(
    path: Path,
    out_dir: Path,
    chunksize: int = 200_000,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Check a real twcs.csv; write good rows to ``out_dir/twcs.csv``, the rest to rejects.csv.

    ``progress`` (optional) is called with the number of rows read in each chunk.
    """
    path = Path(path)
    check_header(path)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = ImportReport(out_dir / "twcs.csv", out_dir / "rejects.csv")
    with ExitStack() as outputs:
        # exits run last-in first-out: rejects.csv is renamed first, the dataset itself last
        twcs_partial = outputs.enter_context(replacing(report.twcs_path))
        rejects_partial = outputs.enter_context(replacing(report.rejects_path))
        _write(path, twcs_partial, rejects_partial, report, chunksize, progress)
    return report


def _write(
    path: Path,
    twcs_out: Path,
    rejects_out: Path,
    report: ImportReport,
    chunksize: int,
    progress: Callable[[int], None] | None,
) -> None:
    """Read `path` in chunks, accepted rows to `twcs_out`, rejects to `rejects_out`."""
    seen: set[int] = set()
    first = True
    try:
        reader = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            usecols=list(TWCS_COLUMNS),
            chunksize=chunksize,
            encoding="utf-8",
        )
        for raw in reader:
            chunk = raw.fillna("")  # short rows leave missing fields as NaN
            rows, reason = _classify(chunk[list(TWCS_COLUMNS)], seen)
            good = reason.eq("")
            rejects = chunk[~good].assign(reason=reason[~good])
            mode = "w" if first else "a"
            rows[good].to_csv(twcs_out, index=False, mode=mode, header=first)
            rejects.to_csv(rejects_out, index=False, mode=mode, header=first)
            first = False
            report.accepted += int(good.sum())
            for name, count in reason[~good].value_counts().items():
                report.rejected[str(name)] += int(count)
            if progress is not None:
                progress(len(chunk))
    except (UnicodeDecodeError, pd.errors.ParserError) as err:
        raise UserError(
            f"{path} could not be read as CSV: {err}; nothing was written, "
            f"{report.twcs_path.parent} is as it was"
        ) from err
    if first:  # header only: still leave both files behind
        pd.DataFrame(columns=list(TWCS_COLUMNS)).to_csv(twcs_out, index=False)
        pd.DataFrame(columns=[*TWCS_COLUMNS, "reason"]).to_csv(rejects_out, index=False)
