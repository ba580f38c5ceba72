"""Reading the agents' corrections file (`data/corrections.csv`): one reader for the export,
which merges new corrections into it, and the split stage, which trains on it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tweetcare.core.errors import UserError
from tweetcare.core.schemas import CORRECTION_COLUMNS


def read_corrections_csv(path: Path) -> pd.DataFrame:
    """The file's rows as text in `CORRECTION_COLUMNS` order; UserError for a file that is not
    a corrections CSV. Values are not checked here: the split stage's expectations do that."""
    try:
        # as for twcs: only an empty field is missing, "NA" in a tweet stays text
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise UserError(f"{path} is not a readable corrections CSV ({err})") from err
    missing = [c for c in CORRECTION_COLUMNS if c not in frame.columns]
    if missing:
        raise UserError(f"{path} lacks columns {missing}; expected {', '.join(CORRECTION_COLUMNS)}")
    return frame[list(CORRECTION_COLUMNS)]
