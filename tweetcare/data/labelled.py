"""Labelled sets: tweets a care team labelled elsewhere (an old helpdesk, a public set), one CSV
per set at ``<data.labelled>/<task>/<name>.csv`` with the columns ``LABELLED_COLUMNS``.

Pure logic only: reading a source CSV into a set (``read_source``), the plain-code checks Great
Expectations cannot express (encoding, columns, empty labels, one text with two labels), the
atomic write and the reader other code trains on. ``tweetcare data labels import`` runs the
Great Expectations suite (``pipelines.expectations.labelled_suite``) in between and turns its
failures into one line with ``refusal``.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from tweetcare.core.errors import UsageError
from tweetcare.core.schemas import CATEGORIES, SENTIMENTS

LABEL_TASKS: tuple[str, ...] = ("sentiment", "category", "needs_ticket", "inbound")
LABELLED_COLUMNS: tuple[str, ...] = ("tweet_id", "conversation_id", "text", "label")
# a set's name is its file name and a params.yaml key (data.labelled_weights)
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
# the binary tasks' spellings, normalised to the one value each task stores
_BINARY: dict[str, dict[str, str]] = {
    "needs_ticket": dict.fromkeys(("yes", "y", "true", "1"), "yes")
    | dict.fromkeys(("no", "n", "false", "0"), "no"),
    "inbound": dict.fromkeys(("true", "yes", "1"), "true")
    | dict.fromkeys(("false", "no", "0"), "false"),
}
# characters no tweet holds: control characters (C0 other than tab and line breaks, DEL, C1:
# those usually mean text decoded with the wrong codec); an id holds no line breaks either
TEXT_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f]"
ID_CONTROL = r"[\x00-\x1f\x7f-\x9f]"
# values quoted in a message are cut to this many characters
SHOWN_CHARS = 60


def allowed_labels(task: str) -> tuple[str, ...]:
    """The labels a set of this task may hold."""
    labels = {
        "sentiment": SENTIMENTS,
        "category": CATEGORIES,
        "needs_ticket": ("yes", "no"),
        "inbound": ("true", "false"),
    }
    if task not in labels:
        raise UsageError(f"unknown task {task!r}: use one of {', '.join(LABEL_TASKS)}")
    return labels[task]


def check_name(name: str) -> str:
    """A set name that is safe as a file name; UserError suggesting one otherwise."""
    if NAME_PATTERN.fullmatch(name):
        return name
    suggestion = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_")[:64] or "my-set"
    raise UsageError(
        f"set name {_shown(name)} is not a safe name (lower-case letters, digits, _ and -, "
        f"at most 64, starting with a letter or digit): pass e.g. --name {suggestion}"
    )


def normalise_label(task: str, value: str) -> str:
    """Stripped and lower-cased; the binary tasks' yes/no/true/false/1/0 as the task stores them."""
    label = value.strip().lower()
    return _BINARY.get(task, {}).get(label, label)


def text_key(text: str) -> str:
    """What makes two texts "the same": whitespace runs and case do not count."""
    return " ".join(text.split()).casefold()


def parse_maps(pairs: Sequence[str], task: str) -> dict[str, str]:
    """``--map OLD=NEW`` pairs as {folded OLD: normalised NEW}; NEW may be empty (no label)."""
    allowed = allowed_labels(task)
    maps: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip():
            raise UsageError(
                f"--map {_shown(pair)} is not OLD=NEW: write e.g. --map 'Late Flight=travel' "
                '(or --map "Can\'t Tell=" to leave a label empty)'
            )
        key, label = old.strip().casefold(), normalise_label(task, new)
        if label and label not in allowed:
            raise UsageError(
                f"--map {_shown(pair)}: {label!r} is not a {task} label "
                f"(one of {', '.join(allowed)})"
            )
        if maps.get(key, label) != label:
            raise UsageError(f"--map gives {old.strip()!r} two labels: {maps[key]!r} and {label!r}")
        maps[key] = label
    return maps


@dataclass(frozen=True)
class SourceColumns:
    """Which columns of the source file hold what (None: not in the file)."""

    text: str = "text"
    label: str = "label"
    tweet_id: str | None = None
    conversation_id: str | None = None

    def named(self) -> dict[str, str]:
        return {
            role: column
            for role, column in (
                ("text", self.text),
                ("label", self.label),
                ("tweet_id", self.tweet_id),
                ("conversation_id", self.conversation_id),
            )
            if column is not None
        }


@dataclass
class LabelledImport:
    """A set read from a source file, before Great Expectations sees it.

    ``frame`` holds ``LABELLED_COLUMNS`` as str, indexed by each row's number in the file (the
    header is row 1), so every later message can name the row.
    """

    frame: pd.DataFrame
    rows_read: int
    skipped_empty: int = 0
    duplicates: int = 0
    conflicts_dropped: int = 0
    label_counts: dict[str, int] = field(default_factory=dict)


def decode(data: bytes, source: str) -> str:
    """UTF-8 text (a byte-order mark dropped); UserError naming the first bad byte's line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise UsageError(
            f"{source} is not UTF-8: byte 0x{data[err.start]:02x} at line {line}, "
            f"byte {column} of that line (offset {err.start}); save it as UTF-8 "
            "(e.g. `iconv -f latin1 -t utf-8`)"
        ) from None


def _records(text: str, source: str) -> Iterator[tuple[int, list[str]]]:
    """(row number, fields) per record; the header is row 1, a blank line a row of its own."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    row = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise UsageError(
                f"{source} row {row + 1} is not valid CSV ({err}; near line {reader.line_num})"
            ) from None
        row += 1
        yield row, fields


def _column_index(header: list[str], columns: SourceColumns, source: str) -> dict[str, int]:
    """role -> position of its column; UserError naming missing or repeated columns."""
    names = [name.strip() for name in header]
    named = columns.named()
    missing = [column for column in named.values() if column not in names]
    if missing:
        hint = " (map yours with --text-column, --label-column, --id-column)"
        raise UsageError(
            f"{source} has no column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(c) for c in missing)}; its columns are "
            f"{', '.join(repr(n) for n in names) or 'none'}{hint}"
        )
    repeated = [column for column in named.values() if names.count(column) > 1]
    if repeated:
        raise UsageError(f"{source} has column {repeated[0]!r} more than once; rename one of them")
    return {role: names.index(column) for role, column in named.items()}


def read_source(
    path: Path,
    task: str,
    name: str,
    columns: SourceColumns,
    maps: dict[str, str],
    *,
    skip_empty: bool = False,
    drop_conflicts: bool = False,
) -> LabelledImport:
    """Read a labelled CSV into a set: labels mapped and normalised, ids filled in, identical
    duplicates kept once. UserError (one line, naming the row) for what plain code checks."""
    allowed_labels(task)
    check_name(name)
    if not path.is_file():
        raise UsageError(f"{path} not found (or not a file)")
    records = _records(decode(path.read_bytes(), str(path)), str(path))
    header = next(records, None)
    if header is None or not any(f.strip() for f in header[1]):
        raise UsageError(f"{path} is empty: it needs a header row naming its columns")
    index = _column_index(header[1], columns, str(path))
    width = len(header[1])
    rows: list[tuple[int, dict[str, str]]] = []
    skipped = 0
    for row, fields in records:
        if not "".join(fields).strip() and len(fields) <= 1:  # a blank line
            continue
        if len(fields) != width:
            raise UsageError(
                f"{path} row {row} has {len(fields)} field{'s' if len(fields) > 1 else ''} but "
                f"the header has {width} (an unquoted comma or line break?)"
            )
        raw = fields[index["label"]].strip()
        label = normalise_label(task, maps.get(raw.casefold(), raw))
        if not label:
            if skip_empty:
                skipped += 1
                continue
            mapped = f" (--map maps {raw!r} to no label)" if raw else ""
            raise UsageError(
                f"{path} row {row}: empty label in column {columns.label!r}{mapped}; label it, "
                "map it with --map 'VALUE=LABEL', or pass --skip-empty to leave such rows out"
            )
        tweet_id = fields[index["tweet_id"]].strip() if columns.tweet_id else f"{name}-{row}"
        conversation = (
            fields[index["conversation_id"]].strip() if columns.conversation_id else tweet_id
        )
        text = fields[index["text"]].strip()
        rows.append(
            (
                row,
                {
                    "tweet_id": tweet_id,
                    "conversation_id": conversation,
                    "text": text,
                    "label": label,
                },
            )
        )
    kept, dropped = _without_conflicts(rows, str(path), drop_conflicts)
    unique, duplicates = _without_duplicates(kept)
    frame = pd.DataFrame(
        [values for _, values in unique], columns=list(LABELLED_COLUMNS), dtype=str
    )
    # unnamed: GE reports an unnamed index as plain row numbers
    frame.index = pd.Index([row for row, _ in unique])
    return LabelledImport(
        frame=frame,
        rows_read=len(rows) + skipped,
        skipped_empty=skipped,
        duplicates=duplicates,
        conflicts_dropped=dropped,
        label_counts=dict(Counter(frame["label"]).most_common()),
    )


def _without_conflicts(
    rows: list[tuple[int, dict[str, str]]], source: str, drop: bool
) -> tuple[list[tuple[int, dict[str, str]]], int]:
    """The rows minus every text labelled two ways (with ``drop``); else UserError naming the
    first two rows that disagree. Empty texts are left to the suite, which names them."""
    first: dict[str, tuple[int, str]] = {}
    conflicted: set[str] = set()
    for row, values in rows:
        key = text_key(values["text"])
        if not key:
            continue
        seen_row, seen_label = first.setdefault(key, (row, values["label"]))
        if seen_label == values["label"]:
            continue
        if not drop:
            raise UsageError(
                f"{source} rows {seen_row} and {row} have the same text "
                f"({_shown(values['text'])}) but different labels ({seen_label!r} and "
                f"{values['label']!r}): correct one of them, or pass --drop-conflicts to leave "
                "out every text whose labels disagree"
            )
        conflicted.add(key)
    kept = [(row, values) for row, values in rows if text_key(values["text"]) not in conflicted]
    return kept, len(rows) - len(kept)


def _without_duplicates(
    rows: list[tuple[int, dict[str, str]]],
) -> tuple[list[tuple[int, dict[str, str]]], int]:
    """The first of each (text, label): a tweet labelled twice the same way counts once."""
    seen: set[tuple[str, str]] = set()
    unique = []
    for row, values in rows:
        key = (text_key(values["text"]), values["label"])
        if key[0] and key in seen:
            continue
        seen.add(key)
        unique.append((row, values))
    return unique, len(rows) - len(unique)


# which failure of one row to name first: the plainest problem
_KIND_ORDER = (
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_not_match_regex",
    "expect_column_value_lengths_to_be_between",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_be_unique",
)


class Outcome(Protocol):
    """The fields of ``pipelines.validate.ExpectationOutcome`` that ``refusal`` reads."""

    expectation: str
    column: str | None
    success: bool
    unexpected_count: int | None
    unexpected_rows: list[int]


def refusal(
    outcomes: Sequence[Outcome],
    imported: LabelledImport,
    task: str,
    columns: SourceColumns,
    text_bounds: tuple[int, int],
) -> str | None:
    """One line for the suite's first failure in file order (the row, the column, what is
    wrong, how to fix it) and how many more there are; None when nothing failed."""
    failures = [o for o in outcomes if not o.success]
    if not failures:
        return None
    first = min(
        failures,
        key=lambda o: (
            min(o.unexpected_rows, default=1 << 62),
            _KIND_ORDER.index(o.expectation) if o.expectation in _KIND_ORDER else len(_KIND_ORDER),
        ),
    )
    message = _describe(first, imported.frame, task, columns, text_bounds)
    more = sum(o.unexpected_count or 1 for o in failures) - 1
    return message + (f" ({more} more problem{'s' if more > 1 else ''})" if more > 0 else "")


def _describe(
    outcome: Outcome,
    frame: pd.DataFrame,
    task: str,
    columns: SourceColumns,
    text_bounds: tuple[int, int],
) -> str:
    role = outcome.column or ""
    source = columns.named().get(role)
    where = f" (column {source!r})" if source else " (made up: no --id-column)"
    rows = sorted(r for r in outcome.unexpected_rows if r in frame.index)
    if not rows:
        return f"the set fails {outcome.expectation} on {role!r}"
    row = rows[0]
    value = str(frame.at[row, role]) if role in frame.columns else ""
    kind = outcome.expectation
    if kind == "expect_column_values_to_be_in_set":
        plain = value.isprintable() and "'" not in value and len(value) <= SHOWN_CHARS
        return (
            f"row {row}: label {_shown(value)}{where} is not a {task} label (one of "
            f"{', '.join(allowed_labels(task))}); fix it or map it with "
            f"--map '{value if plain else 'VALUE'}=LABEL'"
        )
    if kind == "expect_column_values_to_match_regex":
        return f"row {row}: empty {role}{where}"
    if kind == "expect_column_value_lengths_to_be_between":
        low, high = text_bounds
        return (
            f"row {row}: {role}{where} is {len(value):,} characters long, outside {low}..{high} "
            "(params.yaml validate.min_text_chars and max_text_chars)"
        )
    if kind == "expect_column_values_to_not_match_regex":
        bad = re.search(ID_CONTROL if role != "text" else TEXT_CONTROL, value)
        char = f" (U+{ord(bad.group()):04X})" if bad else ""
        return f"row {row}: {role}{where} holds a control character{char}"
    if kind == "expect_column_values_to_be_unique":
        pair = " and ".join(str(r) for r in rows[:2])
        return f"rows {pair} share {role} {_shown(value)}{where}: give each tweet its own id"
    return f"row {row}: {role}{where} fails {kind} (value {_shown(value)})"


def _shown(value: str) -> str:
    """A value quoted on one line (control characters escaped), cut to SHOWN_CHARS."""
    cut = value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS] + "..."
    return repr(cut)


def write_labelled_set(frame: pd.DataFrame, root: Path, task: str, name: str) -> Path:
    """Write ``<root>/<task>/<name>.csv`` atomically (a temp file beside it, then os.replace),
    so a reader sees the old set or the new one, never half of one. Returns the path."""
    allowed_labels(task)
    check_name(name)
    missing = [c for c in LABELLED_COLUMNS if c not in frame.columns]
    if missing:
        raise UsageError(f"a labelled set needs the columns {', '.join(missing)}")
    folder = root / task
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.csv"
    # hidden and not *.csv: read_labelled_sets never picks up a half-written set
    handle, temp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            rows = frame[list(LABELLED_COLUMNS)].fillna("").astype(str)
            rows.to_csv(out, index=False, lineterminator="\n")
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o644)  # mkstemp makes it owner-only
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


def read_labelled_sets(root: Path, task: str) -> dict[str, pd.DataFrame]:
    """Every set of one task, by name: ``LABELLED_COLUMNS`` as str ("" for an empty field, and
    "NA" stays "NA"). Empty when ``<root>/<task>`` does not exist."""
    allowed_labels(task)
    folder = root / task
    if not folder.is_dir():
        return {}
    sets: dict[str, pd.DataFrame] = {}
    for path in sorted(folder.glob("*.csv")):
        if not NAME_PATTERN.fullmatch(path.stem):
            continue
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise UsageError(
                f"{path} is not a readable labelled set ({err}); import it again with "
                "`tweetcare data labels import`"
            ) from None
        missing = [c for c in LABELLED_COLUMNS if c not in frame.columns]
        if missing:
            raise UsageError(f"{path} lacks the columns {', '.join(missing)}; import it again")
        sets[path.stem] = frame[list(LABELLED_COLUMNS)].astype(str)
    return sets


def summary_rows(imported: LabelledImport, written: int) -> list[tuple[str, Any]]:
    """The import's counts, in the order the CLI prints them."""
    return [
        ("rows read", imported.rows_read),
        ("skipped: empty label", imported.skipped_empty),
        ("dropped: conflicting labels", imported.conflicts_dropped),
        ("dropped: duplicates", imported.duplicates),
        ("written", written),
    ]
