"""The Delta lake the stream writes: a conversation's thread, the tweets for response times.

Read with the `deltalake` package (no Spark), wherever the lake lives (local folder, s3a://).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pyarrow.dataset as ds

from tweetcare.core.settings import Settings
from tweetcare.core.storage import TWEETS_TABLE, lake_table_uri, open_table
from tweetcare.ui.backends.errors import FILL_LAKE, LAKE, BackendDown


def tweets_table(settings: Settings) -> str:
    """Where the lake's tweets table lives (a URI or an absolute path)."""
    return lake_table_uri(settings, TWEETS_TABLE)


def read_lake(
    settings: Settings,
    columns: list[str],
    conversation_id: str | None = None,
    optional: Sequence[str] = (),
) -> pd.DataFrame:
    """Columns of the tweets table, plus the `optional` ones it has (one conversation's rows when
    given); BackendDown when the table does not exist yet or lacks a required column."""
    table = open_table(settings, TWEETS_TABLE)
    where = tweets_table(settings)
    if table is None:
        raise BackendDown(LAKE, where, "no Delta table yet", FILL_LAKE)
    dataset = table.to_pyarrow_dataset()
    names = set(dataset.schema.names)
    missing = [c for c in columns if c not in names]
    if missing:
        raise BackendDown(LAKE, where, f"no column {', '.join(missing)}", FILL_LAKE)
    wanted = [*columns, *(c for c in optional if c in names and c not in columns)]
    condition = None if conversation_id is None else ds.field("conversation_id") == conversation_id
    return dataset.to_table(columns=wanted, filter=condition).to_pandas()


def lake_status(settings: Settings) -> tuple[str, bool, str]:
    """Where the tweets table is, whether it holds rows, and what is missing if not."""
    where = tweets_table(settings)
    table = open_table(settings, TWEETS_TABLE)
    if table is None:
        return where, False, "no Delta table yet"
    if not table.file_uris():
        return where, False, "no rows yet"
    return where, True, f"version {table.version()}"


def read_thread(settings: Settings, conversation_id: str) -> pd.DataFrame:
    """A conversation's tweets from the lake, oldest first, one row per tweet."""
    columns = ["tweet_id", "author_id", "inbound", "created_at", "text"]
    frame = read_lake(
        settings,
        columns,
        conversation_id=conversation_id,
        optional=["predicted_label", "probability"],
    )
    return frame.drop_duplicates("tweet_id").sort_values("created_at").reset_index(drop=True)
