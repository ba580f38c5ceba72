"""DVC stage ``split``: train/val/test by conversation, stratified by the inbound label.

Splitting by tweet would put a customer's complaint in train and the brand's answer in test; a
model then scores well by remembering threads. Whole conversations go to one split instead, and
conversations are stratified by their share of inbound tweets so every split keeps the label mix.
Tweets agents corrected (data.corrections) leave every split and go to ``corrections.parquet``.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from sklearn.model_selection import train_test_split

from pipelines.corrections import FILE_NAME as CORRECTIONS_FILE
from pipelines.corrections import corrections_frame, read_corrections
from pipelines.expectations import (
    conversation_split_pairs,
    no_overlap_suite,
    split_suite,
    split_validation_frame,
)
from pipelines.validate import failure_message, read_raw, run_suite
from tweetcare.core.conversations import conversation_ids
from tweetcare.core.errors import UserError
from tweetcare.core.params import SplitParams, load_params
from tweetcare.core.schemas import LABEL_COLUMNS

SPLITS: tuple[str, ...] = ("train", "val", "test")
OUT_DIR = Path("artifacts/splits")
SPLIT_COLUMNS: tuple[str, ...] = (
    "tweet_id",
    "conversation_id",
    "author_id",
    "created_at",
    "text",
    "inbound",
)
# conversations are stratified by inbound share rounded to this many bins
INBOUND_SHARE_BINS = 4


@dataclass
class SplitReport:
    requested: dict[str, int]
    rows: dict[str, int]
    conversations: dict[str, int]
    inbound_share: dict[str, float]
    labelled: bool
    warnings: list[str] = field(default_factory=list)
    # rows in corrections.parquet, and how many of them each split gave up
    corrections: int = 0
    corrected_in_splits: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def load_tweets(raw: Path) -> pd.DataFrame:
    """Raw twcs rows with ``conversation_id`` and a boolean ``inbound``."""
    frame = read_raw(raw)
    flags = frame["inbound"].map({"True": True, "False": False})
    if flags.isna().any():
        bad = frame.loc[flags.isna(), "inbound"].unique()[:3].tolist()
        raise UserError(
            f"{raw}: inbound must be True or False, found {bad}; run the validate stage"
        )
    frame["inbound"] = flags.astype(bool)
    conversations = conversation_ids(frame["tweet_id"], frame["in_response_to_tweet_id"])
    frame["conversation_id"] = conversations.astype(frame["tweet_id"].dtype)
    return frame


def load_labels(labels: Path | None) -> pd.DataFrame | None:
    """labels.csv when it exists (synthetic data); real twcs has none, which is fine."""
    if labels is None or not labels.is_file():
        return None
    frame = pd.read_csv(labels, dtype=str, keep_default_na=False, na_values=[""])
    missing = [c for c in LABEL_COLUMNS if c not in frame.columns]
    if missing:
        raise UserError(f"{labels} lacks columns {missing}; expected {', '.join(LABEL_COLUMNS)}")
    frame = frame[list(LABEL_COLUMNS)].drop_duplicates("tweet_id")
    frame["needs_ticket"] = frame["needs_ticket"].map({"True": True, "False": False})
    return frame


def _conversation_table(tweets: pd.DataFrame) -> pd.DataFrame:
    """One row per conversation: size and an inbound-share stratum."""
    table = tweets.groupby("conversation_id", sort=True).agg(
        rows=("inbound", "size"), inbound=("inbound", "mean")
    )
    table["stratum"] = (table["inbound"] * INBOUND_SHARE_BINS).round().astype(int)
    return table


def _sample_conversations(table: pd.DataFrame, total: int, seed: int) -> pd.DataFrame:
    """Random whole conversations until ``total`` rows are reached (all of them if fewer)."""
    shuffled = table.sample(frac=1.0, random_state=seed)
    before = shuffled["rows"].cumsum() - shuffled["rows"]
    return shuffled[before < total]


def _stratify_or_none(strata: pd.Series, parts: float) -> pd.Series | None:
    """Strata sklearn can honour; rare ones merge into the largest, hopeless cases go unstratified."""
    counts = strata.value_counts()
    merged = strata.where(strata.map(counts) >= 2, counts.idxmax())
    smallest_part = min(parts, 1.0 - parts) * len(merged)
    if merged.nunique() < 2 or smallest_part < merged.nunique():
        return None
    return merged


def _cut(table: pd.DataFrame, share: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split conversations into (1 - share, share) parts, stratified where possible."""
    if share <= 0.0:
        return table, table.iloc[:0]
    if share >= 1.0:
        return table.iloc[:0], table
    return train_test_split(
        table,
        test_size=share,
        random_state=seed,
        stratify=_stratify_or_none(table["stratum"], share),
    )


def assign_splits(tweets: pd.DataFrame, params: SplitParams) -> tuple[pd.Series, list[str]]:
    """The split name of every sampled tweet (index = tweets' index), plus warnings."""
    try:
        sizes = params.sizes.model_dump()
    except ValueError as err:
        raise UserError(f"{err} (set split.profile in params.yaml)") from err
    total = sum(sizes.values())
    warnings: list[str] = []
    if len(tweets) < total:
        warnings.append(
            f"only {len(tweets)} tweets for the {total} that profile {params.profile!r} asks "
            "for; splitting all of them in the same proportions"
        )
    table = _sample_conversations(_conversation_table(tweets), total, params.seed)
    if len(table) < len(SPLITS):
        raise UserError(
            f"only {len(table)} conversations in the data: need at least {len(SPLITS)} "
            "to split by conversation"
        )
    rest, test = _cut(table, sizes["test"] / total, params.seed)
    train, val = _cut(rest, sizes["val"] / (sizes["train"] + sizes["val"]), params.seed)
    owner = pd.concat(
        [
            pd.Series(name, index=part.index)
            for name, part in zip(SPLITS, (train, val, test), strict=True)
        ]
    )
    split = tweets["conversation_id"].map(owner)
    return split[split.notna()], warnings


def _check_splits(splits: dict[str, pd.DataFrame]) -> None:
    """GE on the outputs: complete rows, both classes per split, no thread in two splits."""
    for name, frame in splits.items():
        summary = run_suite(frame, split_suite(f"split_{name}"))
        if not summary.success:
            raise UserError(failure_message(summary, f"{name} split"))
    pairs = conversation_split_pairs(split_validation_frame(splits))
    summary = run_suite(pairs, no_overlap_suite())
    if not summary.success:
        raise UserError(failure_message(summary, "train/val/test splits"))


def split(
    raw: Path,
    labels: Path | None,
    params: SplitParams,
    out_dir: Path,
    corrections: Path | None = None,
) -> SplitReport:
    """Write ``{train,val,test}.parquet`` under ``out_dir``; labels join in when present.

    With a ``corrections`` file, its tweets leave all three splits (assigned first, so the
    splits stay the same threads from one export to the next) and go to ``corrections.parquet``.
    """
    tweets = load_tweets(raw)
    fixes = read_corrections(corrections) if corrections is not None else None
    assigned, warnings = assign_splits(tweets, params)
    label_frame = load_labels(labels)
    corrected = set() if fixes is None else set(fixes["tweet_id"])
    splits: dict[str, pd.DataFrame] = {}
    dropped: dict[str, int] = {}
    for name in SPLITS:
        part = tweets.loc[assigned.index[assigned == name], list(SPLIT_COLUMNS)]
        kept = ~part["tweet_id"].isin(corrected)
        dropped[name] = int((~kept).sum())
        part = part[kept]
        if label_frame is not None:
            part = part.merge(label_frame, on="tweet_id", how="left", validate="one_to_one")
        splits[name] = part.reset_index(drop=True)
    _check_splits(splits)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, part in splits.items():
        part.to_parquet(out_dir / f"{name}.parquet", index=False)
    # a stale file from an earlier run must not train a model the current data does not name
    (out_dir / CORRECTIONS_FILE).unlink(missing_ok=True)
    if fixes is not None:
        corrections_frame(fixes, SPLIT_COLUMNS).to_parquet(out_dir / CORRECTIONS_FILE, index=False)
    return SplitReport(
        requested={n: int(getattr(params.profiles[params.profile], n)) for n in SPLITS},
        rows={n: len(p) for n, p in splits.items()},
        conversations={n: int(p["conversation_id"].nunique()) for n, p in splits.items()},
        inbound_share={n: round(float(p["inbound"].mean()), 4) for n, p in splits.items()},
        labelled=label_frame is not None,
        warnings=warnings,
        corrections=0 if fixes is None else len(fixes),
        corrected_in_splits=dropped,
    )


def main() -> None:
    console = Console(stderr=True, soft_wrap=True)
    try:
        params = load_params()
        with console.status("splitting by conversation"):
            report = split(
                params.data.raw,
                params.data.labels,
                params.split,
                OUT_DIR,
                corrections=params.data.corrections,
            )
    except UserError as err:
        console.print(f"[bold red]split failed:[/] {err}", highlight=False)
        sys.exit(1)
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    console.print(f"[green]ok[/] rows {report.rows}, inbound share {report.inbound_share}")
    console.print(
        f"corrections: {report.corrections} tweets for training, removed from the splits "
        f"{report.corrected_in_splits}"
    )


if __name__ == "__main__":
    main()
