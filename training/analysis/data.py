"""The analysis models' training data: featurized splits joined with the generator's labels.

The split carries category, sentiment, needs_ticket and entities; the ticket flag lives only in
labels.csv (`LABEL_FLAG_COLUMN`), so it is joined here by tweet id. Real twcs files have no labels:
then the generator's seeded tweets, made in memory (`generated_splits`), are the labelled base that
teaches the taxonomy, flags and entity spans, and the team's labelled sets teach its customers.
Agents' corrections (corrections.parquet) are read the same way and lend the sentiment and
category models their checked customer tweets.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from training.sampling import stratified_rows
from tweetcare.core.conversations import conversation_ids
from tweetcare.core.errors import UserError
from tweetcare.core.schemas import LABEL_FLAG_COLUMN
from tweetcare.core.text import clean_texts
from tweetcare.data.generator import generate

NOT_ENGLISH = "not_english"
REQUIRED = ("category", "sentiment", "entities")


def read_flags(labels: Path) -> pd.Series:
    """tweet_id (str) -> flag ("" when none); empty when labels.csv has no flag column."""
    if not labels.is_file():
        return pd.Series(dtype=str)
    head = pd.read_csv(labels, nrows=0)
    if LABEL_FLAG_COLUMN not in head.columns:
        return pd.Series(dtype=str)
    frame = pd.read_csv(
        labels, usecols=["tweet_id", LABEL_FLAG_COLUMN], dtype=str, keep_default_na=False
    )
    return frame.set_index("tweet_id")[LABEL_FLAG_COLUMN]


def has_analysis_labels(features_dir: Path, name: str = "train") -> bool:
    """Do the featurized splits carry the generator's labels (False for a real twcs export)?"""
    path = features_dir / f"{name}.parquet"
    if not path.is_file():
        raise UserError(f"{path} not found: run `dvc repro featurize` first")
    frame = pd.read_parquet(path, columns=None)
    return (
        all(c in frame.columns for c in REQUIRED) and not frame[list(REQUIRED)].isna().all().any()
    )


def generated_splits(
    rows: int, seed: int, mask_handles: bool, shares: tuple[float, float, float] = (0.6, 0.2, 0.2)
) -> dict[str, pd.DataFrame]:
    """Labelled train/val/test made in memory by the seeded generator, split by conversation and
    shaped as `load_split` gives them: the base the analysis models learn the taxonomy, flags and
    entity spans from when the pipeline's data is a real export without labels."""
    tweets, labels = generate(rows, seed)
    frame = pd.concat([tweets, labels.drop(columns="tweet_id")], axis=1)
    frame["tweet_id"] = frame["tweet_id"].astype(str)
    frame["conversation_id"] = conversation_ids(
        frame["tweet_id"], frame["in_response_to_tweet_id"]
    ).astype(str)
    frame["clean_text"] = clean_texts(frame["text"].tolist(), mask_handles=mask_handles)
    frame["flag"] = frame[LABEL_FLAG_COLUMN].fillna("") if LABEL_FLAG_COLUMN in frame else ""
    frame["opening"] = frame["tweet_id"] == frame["conversation_id"]
    order = frame["conversation_id"].drop_duplicates().sample(frac=1.0, random_state=seed)
    bounds = np.cumsum((0.0, *shares)) * len(order)
    out = {}
    for i, name in enumerate(("train", "val", "test")):
        chosen = set(order.iloc[int(bounds[i]) : int(bounds[i + 1])])
        out[name] = frame[frame["conversation_id"].isin(chosen)].reset_index(drop=True)
    return out


def load_split(features_dir: Path, name: str, flags: pd.Series) -> pd.DataFrame:
    """One featurized split with `flag` and `opening` (the tweet that opened its thread)."""
    path = features_dir / f"{name}.parquet"
    if not path.is_file():
        raise UserError(f"{path} not found: run `dvc repro featurize` first")
    frame = pd.read_parquet(path)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing or frame[list(REQUIRED)].isna().all().any():
        raise UserError(
            f"{path} has no analysis labels ({', '.join(REQUIRED)}): the analysis models train "
            "on the labelled synthetic data (data/labels.csv)"
        )
    frame["tweet_id"] = frame["tweet_id"].astype(str)
    frame["flag"] = frame["tweet_id"].map(flags).fillna("") if len(flags) else ""
    frame["opening"] = frame["tweet_id"] == frame["conversation_id"].astype(str)
    return frame


def load_corrections(features_dir: Path, flags: pd.Series) -> pd.DataFrame | None:
    """The featurized corrections with `flag` and `opening`, as `load_split` gives the splits;
    None when the split stage wrote none. Each corrected tweet is its own conversation, so it
    counts as an opening tweet: an agent judged this tweet's category, not its thread's."""
    path = features_dir / "corrections.parquet"
    if not path.is_file():
        return None
    frame = pd.read_parquet(path)
    missing = [c for c in ("text", "inbound", "category", "sentiment") if c not in frame.columns]
    if missing:
        raise UserError(f"{path} lacks columns {missing}: run `dvc repro split featurize`")
    frame["tweet_id"] = frame["tweet_id"].astype(str)
    # a tweet labels.csv does not know (live traffic) is taken as flag-free: an agent gave it a
    # complaint category, so it is no spam, chatter or foreign-language tweet
    frame["flag"] = frame["tweet_id"].map(flags).fillna("") if len(flags) else ""
    frame["opening"] = True
    return frame


def labelled_customer_tweets(frame: pd.DataFrame | None, column: str) -> pd.DataFrame | None:
    """English customer tweets of ``frame`` that carry a ``column`` label (None stays None)."""
    if frame is None:
        return None
    customers = english(customer_tweets(frame))
    return customers[customers[column].notna()].reset_index(drop=True)


def customer_tweets(frame: pd.DataFrame) -> pd.DataFrame:
    """Inbound tweets: the only ones the analysis models ever see."""
    return frame[frame["inbound"].astype(bool)].reset_index(drop=True)


def english(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows not flagged as another language: the text models are English-only."""
    return frame[frame["flag"] != NOT_ENGLISH].reset_index(drop=True)


def sample(frame: pd.DataFrame, size: int, seed: int, by: str | None = None) -> pd.DataFrame:
    """At most ``size`` rows, stratified by column ``by`` (rare classes keep at least one row)."""
    if len(frame) <= size:
        return frame.reset_index(drop=True)
    if by is None:
        return frame.sample(n=size, random_state=seed).reset_index(drop=True)
    return frame.iloc[stratified_rows(frame[by].to_numpy(), size, seed)].reset_index(drop=True)
