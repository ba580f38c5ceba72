"""Labelled sets in training: each set split by conversation into a part that trains and a part
held out, which scores the models per source and, wherever real labels exist, decides the gate.

A set is a team's own labelled tweets (`tweetcare data labels import|export`), so it speaks for
its customers as no generated tweet can: its held-out part is the figure that matters. The cut
hashes the conversation id with the seed, so a thread's tweets stay on one side (a follow-up
never trains while its opening tweet is scored) and a set's cut does not move when rows are
added to it.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd

from training.datasets import DATASET_SOURCE
from tweetcare.data.labelled import read_labelled_sets

DEFAULT_WEIGHT_KEY = "default"
# hash buckets the held-out share is cut on
BUCKETS = 10_000


@dataclass(frozen=True)
class LabelledSplit:
    """One set's two parts, each with `text`, `label`, `conversation_id`, `tweet_id`."""

    name: str
    task: str
    train: pd.DataFrame
    heldout: pd.DataFrame
    weight: int

    @property
    def source(self) -> str:
        """The key its figures carry in reports and MLflow (``<task>/<name>``)."""
        return f"{self.task}/{self.name}"


def heldout_mask(conversations: pd.Series, share: float, seed: int) -> pd.Series:
    """True for the rows whose conversation falls in the held-out ``share`` of hash buckets."""

    def bucket(conversation: str) -> int:
        digest = hashlib.sha1(f"{seed}:{conversation}".encode()).hexdigest()
        return int(digest, 16) % BUCKETS

    cut = round(share * BUCKETS)
    return conversations.astype(str).map(bucket) < cut


def split_set(
    name: str, task: str, frame: pd.DataFrame, share: float, seed: int, weight: int
) -> LabelledSplit:
    """``frame`` cut by conversation into training and held-out parts."""
    held = heldout_mask(frame["conversation_id"], share, seed)
    return LabelledSplit(
        name,
        task,
        frame[~held].reset_index(drop=True),
        frame[held].reset_index(drop=True),
        weight,
    )


def weight_of(name: str, weights: dict[str, int]) -> int:
    """Times each row of set ``name`` counts in training (``default`` when not named)."""
    return int(weights.get(name, weights.get(DEFAULT_WEIGHT_KEY, 1)))


def labelled_splits(
    root: Path, task: str, share: float, seed: int, weights: dict[str, int]
) -> list[LabelledSplit]:
    """Every set of ``task`` under ``root``, split; empty when there are none. A set weighted 0
    is left out whole: it neither trains nor scores nor decides (a weak set that did not help)."""
    return [
        split_set(name, task, frame, share, seed, weight_of(name, weights))
        for name, frame in sorted(read_labelled_sets(root, task).items())
        if weight_of(name, weights) > 0
    ]


def training_rows(
    sets: list[LabelledSplit], column: str, corrections: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The sets' training parts as rows with ``tweet_id``, ``text`` and ``column`` (the label),
    each row repeated its set's weight times (as corrections are: a repeat is a weight for every
    learner here), marked as customer tweets that opened their thread. A tweet the agents'
    ``corrections`` hold already (an exported ticket correction) trains through them only."""
    corrected = set() if corrections is None else set(corrections["tweet_id"].astype(str))
    parts = [
        s.train.loc[s.train.index.repeat(s.weight), ["tweet_id", "text", "label"]]
        for s in sets
        if s.weight > 0 and not s.train.empty
    ]
    parts = [p[~p["tweet_id"].astype(str).isin(corrected)] for p in parts]
    if not any(len(p) for p in parts):
        return pd.DataFrame(columns=["tweet_id", "text", column, "opening", "flag"])
    rows = pd.concat(parts, ignore_index=True).rename(columns={"label": column})
    rows["opening"] = True
    rows["flag"] = ""
    return rows


def with_labelled(train: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """``train`` plus the labelled training ``rows`` in ``train``'s columns (``train`` itself
    when there are none, so its column types stay as they are)."""
    if rows.empty:
        return train
    return pd.concat([train, rows.reindex(columns=train.columns)], ignore_index=True)


def log_labelled_sets(sets: Sequence[LabelledSplit]) -> None:
    """Log each set's two parts as inputs of the active run (contexts ``labelled-train`` and
    ``labelled-heldout``), each with its content digest: a set edited in place shows a new
    digest in the MLflow UI's Dataset column."""
    for labelled in sets:
        parts = (("labelled-train", labelled.train), ("labelled-heldout", labelled.heldout))
        for context, frame in parts:
            with warnings.catch_warnings():
                # MLflow registers its local-file source twice and says so on every resolve
                warnings.filterwarnings("ignore", "The specified dataset source can be interpreted")
                dataset = mlflow.data.from_pandas(
                    frame, source=DATASET_SOURCE, name=f"labelled-{labelled.task}-{labelled.name}"
                )
            mlflow.log_input(dataset, context=context)
