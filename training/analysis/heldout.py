"""The held-out test tweets each analysis model is judged on at the promotion gate.

The experiment scores each model on a sample of the test split; the gate scores the candidate
and the current champion on exactly those tweets (kept beside the models for a restore), with
each model's own metric: macro-F1 for sentiment and category, exact-span F1 for entities.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from training.analysis.data import NOT_ENGLISH
from training.metrics import class_report, span_report
from tweetcare.core.errors import UserError
from tweetcare.core.schemas import CATEGORIES, SENTIMENTS

# per model: the columns its score reads (besides `text`) and the metric's name in reasons
COLUMNS = {
    "sentiment": ("sentiment",),
    "category": ("category", "opening", "flag"),
    "entities": ("entities",),
}
METRICS = {"sentiment": "macro-F1", "category": "macro-F1", "entities": "entity F1"}
# the folder, inside train_analysis's output, that keeps them for register to re-gate a restore
HELDOUT_DIR = "heldout"


def category_rows(frame: pd.DataFrame) -> np.ndarray:
    """The tweets the category is scored on: English tweets that opened their thread."""
    return (frame["opening"] & (frame["flag"] != NOT_ENGLISH)).to_numpy()


def spans(cells: pd.Series) -> list[set[tuple[int, int, str]]]:
    """(start, end, label) sets from JSON lists of entities, as labels and the pyfunc give them."""
    return [{(e["start"], e["end"], e["label"]) for e in json.loads(c)} for c in cells]


def heldout_frame(key: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Only what the gate needs of the experiment's test sample for model `key`."""
    return frame[["text", *COLUMNS[key]]].reset_index(drop=True)


def score(key: str, predictions: pd.DataFrame, frame: pd.DataFrame) -> float:
    """Model `key`'s metric for a pyfunc's `predictions` on the held-out `frame`."""
    if key == "sentiment":
        truth = frame["sentiment"].tolist()
        return class_report(truth, predictions["sentiment"].tolist(), SENTIMENTS)["macro_f1"]
    if key == "category":
        rows = category_rows(frame)
        truth = frame.loc[rows, "category"].tolist()
        found = predictions["category"].to_numpy()[rows].tolist()
        return class_report(truth, found, CATEGORIES)["macro_f1"]
    if key == "entities":
        return span_report(spans(frame["entities"]), spans(predictions["entities"]))["f1"]
    raise ValueError(f"no gate metric for analysis model {key!r}")


def write_heldout(frames: dict[str, pd.DataFrame], folder: Path) -> None:
    """One parquet file per model, for DVC to cache with the model copies."""
    folder.mkdir(parents=True, exist_ok=True)
    for key, frame in frames.items():
        frame.to_parquet(folder / f"{key}.parquet", index=False)


def read_heldout(folder: Path, key: str) -> pd.DataFrame:
    path = folder / f"{key}.parquet"
    if not path.is_file():
        raise UserError(f"{path} not found: rerun `dvc repro -f train_analysis` to write it")
    return pd.read_parquet(path)
