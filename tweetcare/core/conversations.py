"""Conversation ids for twcs rows: the id of the thread's first tweet.

twcs links each tweet to its parent through ``in_response_to_tweet_id``; following the links up
gives the root. Tickets, Kafka keys and the train/val/test split all group by it.
"""

from __future__ import annotations

import pandas as pd


def conversation_ids(tweet_ids: pd.Series, parent_ids: pd.Series) -> pd.Series:
    """Root tweet id for every row (ids as strings; a parent missing from the data ends the walk).

    Pointer jumping: each pass replaces a tweet's parent by its grandparent, so a thread of
    depth d resolves in log2(d) vectorised passes even on the full 2.8M-row file.
    """
    ids = tweet_ids.astype("string")
    parents = parent_ids.astype("string")
    known = pd.Series(True, index=pd.Index(ids))
    # a parent outside the data (or a self-reference) makes the tweet its own root
    has_parent = parents.notna() & parents.isin(known.index) & (parents != ids)
    root = pd.Series(ids.where(~has_parent, parents).to_numpy(), index=pd.Index(ids))
    root = root[~root.index.duplicated(keep="first")]
    for _ in range(64):
        grand = root.reindex(root.to_numpy()).to_numpy()
        if (grand == root.to_numpy()).all():
            break
        root = pd.Series(grand, index=root.index)
    return pd.Series(root.reindex(ids.to_numpy()).to_numpy(), index=tweet_ids.index, dtype="string")
