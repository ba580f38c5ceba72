"""Agents' corrections (data/corrections.csv) as a training frame beside the splits.

A corrected tweet carries a label a person checked, so it must not also sit in a split under the
model's old label (a contradiction in train, a leak in val/test): the split stage drops those
ids from train/val/test and writes the corrections as their own frame, in the split's columns,
for the trainers to add to train with the weight params.yaml gives.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.expectations import corrections_suite, corrections_validation_frame
from pipelines.validate import run_suite
from tweetcare.core.corrections import read_corrections_csv
from tweetcare.core.errors import UserError
from tweetcare.core.schemas import LABEL_COLUMNS

FILE_NAME = "corrections.parquet"
# who corrected what and when: kept beside the labels for anyone auditing a training set
PROVENANCE_COLUMNS: tuple[str, ...] = ("corrected", "agent", "corrected_at")


def read_corrections(path: Path) -> pd.DataFrame | None:
    """The corrections file, checked, with a boolean ``inbound``; None when it does not exist."""
    if not path.is_file():
        return None
    frame = read_corrections_csv(path)
    summary = run_suite(corrections_validation_frame(frame), corrections_suite())
    if not summary.success:
        problems = "; ".join(o.describe() for o in summary.failures())
        raise UserError(f"{path} is not a valid corrections file: {problems}")
    return frame.assign(inbound=frame["inbound"] == "True")


def corrections_frame(corrections: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """The corrections in ``columns`` (the split's), each tweet its own conversation, plus the
    label and provenance columns; what the file does not say (author, date) stays null."""
    frame = corrections.assign(conversation_id=corrections["tweet_id"])
    wanted = list(dict.fromkeys([*columns, *LABEL_COLUMNS[1:], *PROVENANCE_COLUMNS]))
    return frame.reindex(columns=wanted).reset_index(drop=True)
