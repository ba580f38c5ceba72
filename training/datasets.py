"""Each MLflow run names the data it learned from, so the UI's Dataset column answers
"trained on what?": one MLflow dataset per split, its digest the DVC data version."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import mlflow
import pandas as pd

from training.model_card import UNTRACKED
from tweetcare.core.contract import DATA_VERSION_TAG

# MLflow keeps a dataset digest in a 36-character column; DVC's folder md5 ("….dir") fits it
DIGEST_CHARS = 36
DATASET_NAME = "twcs"
# where the splits come from: the DVC-tracked data folder
DATASET_SOURCE = "data"


def log_training_data(splits: Mapping[str, pd.DataFrame], tags: Mapping[str, str] | None) -> None:
    """Log each split as an input of the active run, with context = the split's name."""
    version = (tags or {}).get(DATA_VERSION_TAG, UNTRACKED)
    for split, frame in splits.items():
        with warnings.catch_warnings():
            # MLflow registers its local-file source twice and says so on every resolve
            warnings.filterwarnings("ignore", "The specified dataset source can be interpreted")
            dataset = mlflow.data.from_pandas(
                frame,
                source=DATASET_SOURCE,
                name=f"{DATASET_NAME}-{split}",
                digest=version[:DIGEST_CHARS],
            )
        mlflow.log_input(dataset, context=split)
