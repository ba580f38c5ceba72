"""The baseline inbound/outbound classifier: TF-IDF word n-grams into a logistic regression.

Cheap to train and fast to serve, so it sets the bar every later model (GRU, transformer) has
to beat at the promotion gate.
"""

from __future__ import annotations

import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from tweetcare.core.errors import UserError
from tweetcare.core.params import BaselineParams

LABEL_COLUMN = "inbound"
# lbfgs converges on sparse TF-IDF well within this many steps; the default 100 can warn
MAX_ITER = 1000


def build_baseline(params: BaselineParams) -> Pipeline:
    """An unfitted pipeline; separate from training so tests can inspect the configuration."""
    return Pipeline(
        [
            (
                "tfidf",
                TfidfVectorizer(
                    ngram_range=(1, params.ngram_max),
                    sublinear_tf=True,
                    min_df=params.min_df,
                    max_features=params.max_features,
                ),
            ),
            ("clf", LogisticRegression(C=params.C, max_iter=MAX_ITER)),
        ]
    )


def train_baseline(
    train: pd.DataFrame, params: BaselineParams, text_column: str = "clean_text"
) -> Pipeline:
    """Fit on `text_column` with label `inbound` (1 = customer tweet, 0 = brand reply)."""
    missing = {text_column, LABEL_COLUMN} - set(train.columns)
    if missing:
        raise UserError(
            f"training data lacks column(s) {sorted(missing)}; run `dvc repro featurize`"
        )
    labels = train[LABEL_COLUMN].astype(int)
    if labels.nunique() < 2:
        raise UserError("training data holds only one class of `inbound`; the split is too small")
    model = build_baseline(params)
    model.fit(train[text_column].fillna("").astype(str).tolist(), labels.to_numpy())
    return model
