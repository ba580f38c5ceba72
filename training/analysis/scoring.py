"""The promotion gate's view of the analysis models: held-out rows and a score per role.

Each scorer reads a loaded pyfunc's output on raw text, as served, so a candidate and a champion
from older code are compared on the same rows by the same rule as the tweet-inbound models.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from training.analysis.data import NOT_ENGLISH, customer_tweets, english, sample
from training.analysis.metrics import class_report, span_report
from training.registry import Scorer
from tweetcare.core.params import AnalysisParams
from tweetcare.core.schemas import CATEGORIES, SENTIMENTS

METRICS = {
    "sentiment": "test sentiment macro-F1",
    "category": "test category macro-F1",
    "entities": "test entity span F1",
}


def held_out(role: str, test: pd.DataFrame, params: AnalysisParams) -> pd.DataFrame:
    """The test rows the role is judged on (the same rows the stage reports on)."""
    customers = customer_tweets(test)
    if role == "sentiment":
        return sample(english(customers), params.eval_sample, params.seed)
    if role == "category":
        rows = sample(customers, params.eval_sample, params.seed, "flag")
        return rows[rows["opening"] & (rows["flag"] != NOT_ENGLISH)].reset_index(drop=True)
    if role == "entities":
        return sample(customers, params.eval_sample, params.seed)
    raise KeyError(f"no held-out rows for role {role!r}")


def _predict(model: Any, rows: pd.DataFrame) -> pd.DataFrame:
    return model.predict(pd.DataFrame({"text": rows["text"].astype(str)}))


def sentiment_f1(model: Any, rows: pd.DataFrame) -> float:
    found = _predict(model, rows)["sentiment"].tolist()
    return float(class_report(rows["sentiment"].tolist(), found, SENTIMENTS)["macro_f1"])


def category_f1(model: Any, rows: pd.DataFrame) -> float:
    found = _predict(model, rows)["category"].tolist()
    return float(class_report(rows["category"].tolist(), found, CATEGORIES)["macro_f1"])


def entity_f1(model: Any, rows: pd.DataFrame) -> float:
    found = [
        {(e["start"], e["end"], e["label"]) for e in json.loads(cell)}
        for cell in _predict(model, rows)["entities"]
    ]
    gold = [{(e["start"], e["end"], e["label"]) for e in json.loads(c)} for c in rows["entities"]]
    return float(span_report(gold, found)["f1"])


SCORERS: dict[str, Scorer] = {
    "sentiment": sentiment_f1,
    "category": category_f1,
    "entities": entity_f1,
}
