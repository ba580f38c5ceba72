"""Each MLflow run names the data it learned from, so the UI's Dataset column answers
"trained on what?": one MLflow dataset per split, its digest the DVC data version.

Agents' corrections travel beside the splits (key ``corrections``); ``with_corrections`` is the
one place every trainer, inbound and analysis alike, adds them to its training rows.
"""

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
# the splits' key for the featurized corrections (artifacts/features/corrections.parquet)
CORRECTIONS = "corrections"
# the splits' key for the inbound labelled sets' training rows (`text`, `inbound`), each row
# already repeated its set's weight (training.analysis.labelled)
LABELLED = "labelled"


def with_corrections(
    train: pd.DataFrame, corrections: pd.DataFrame | None, weight: int
) -> pd.DataFrame:
    """``train`` plus every corrections row ``weight`` times, in ``train``'s columns.

    Repeating a row k times is weighting it k times for every learner here (a logistic loss, a
    network's epochs), so no model needs sample weights. No corrections, or a weight of 0,
    gives back ``train`` itself.
    """
    if corrections is None or corrections.empty or weight <= 0:
        return train
    repeated = corrections.loc[corrections.index.repeat(weight)]
    return pd.concat([train, repeated.reindex(columns=train.columns)], ignore_index=True)


def corrections_params(corrections: pd.DataFrame | None, weight: int) -> dict[str, int]:
    """The MLflow params that say how many corrected tweets a run trained on, and how heavily."""
    rows = 0 if corrections is None else len(corrections)
    return {"corrections_rows": rows, "corrections_weight": weight}


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
