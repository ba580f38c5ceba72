"""The Parquet lake the stream writes: a conversation's thread, the tweets for response times."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds

from tweetcare.core.settings import Settings
from tweetcare.ui.backends.errors import FILL_LAKE, LAKE, BackendDown


def read_lake(
    folder: Path,
    columns: list[str],
    conversation_id: str | None = None,
    optional: Sequence[str] = (),
) -> pd.DataFrame:
    """Columns of a lake dataset, plus the `optional` ones it has (one conversation's rows when
    given); BackendDown when it has no files or lacks a required column."""
    if not folder.exists() or not any(folder.rglob("*.parquet")):
        raise BackendDown(LAKE, str(folder), "no Parquet files yet", FILL_LAKE)
    dataset = ds.dataset(folder, format="parquet", partitioning="hive")
    names = set(dataset.schema.names)
    missing = [c for c in columns if c not in names]
    if missing:
        raise BackendDown(LAKE, str(folder), f"no column {', '.join(missing)}", FILL_LAKE)
    wanted = [*columns, *(c for c in optional if c in names and c not in columns)]
    where = None if conversation_id is None else ds.field("conversation_id") == conversation_id
    return dataset.to_table(columns=wanted, filter=where).to_pandas()


def tweets_folder(settings: Settings) -> Path:
    return settings.lake_dir / "tweets"


def read_thread(settings: Settings, conversation_id: str) -> pd.DataFrame:
    """A conversation's tweets from the lake, oldest first, one row per tweet."""
    columns = ["tweet_id", "author_id", "inbound", "created_at", "text"]
    frame = read_lake(
        tweets_folder(settings),
        columns,
        conversation_id=conversation_id,
        optional=["predicted_label", "probability"],
    )
    return frame.drop_duplicates("tweet_id").sort_values("created_at").reset_index(drop=True)
