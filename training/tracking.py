"""What every training run records about its data: an MLflow dataset named by its DVC version.

`log_training_data` logs the rows a run learned from with `mlflow.log_input`; the dataset's
digest is the DVC data version (data.dvc's md5), so the MLflow UI's Dataset column names the
exact data a model saw, and two runs on the same data show the same digest.
"""

from __future__ import annotations

import mlflow
import pandas as pd

from training.model_card import UNTRACKED

# what the dataset carries: the text and labels, not every featurized column
MAX_COLUMNS = ("tweet_id", "text", "inbound", "category", "sentiment", "flag")
DIGEST_CHARS = 36  # MLflow keeps dataset digests short


def log_training_data(
    frame: pd.DataFrame, data_version: str | None, context: str = "training", name: str = "train"
) -> None:
    """Log ``frame`` as the active run's `context` input, its digest the DVC data version."""
    columns = [c for c in MAX_COLUMNS if c in frame.columns] or list(frame.columns)
    version = data_version or UNTRACKED
    dataset = mlflow.data.from_pandas(
        frame[columns].reset_index(drop=True),
        source="data.dvc",
        name=f"{name}@{version}"[:255],
        digest=version.removeprefix("md5:")[:DIGEST_CHARS],
        targets="inbound" if "inbound" in columns else None,
    )
    mlflow.log_input(dataset, context=context)
