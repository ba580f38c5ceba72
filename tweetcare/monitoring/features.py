"""What the monitor compares: one row per tweet with the monitored columns, from the lake's
`tweets` table or from the champion's training data (which has labels, not predictions)."""

from __future__ import annotations

import pandas as pd

NUMERIC_COLUMNS: tuple[str, ...] = ("text_length", "probability", "category_confidence")
CATEGORICAL_COLUMNS: tuple[str, ...] = (
    "language",
    "brand",
    "predicted_inbound",
    "sentiment",
    "category",
)
TEXT_COLUMNS: tuple[str, ...] = ("text",)
# kept beside the monitored columns: the data-quality check counts their missing values
ID_COLUMNS: tuple[str, ...] = ("tweet_id", "conversation_id")
MONITORED_COLUMNS: tuple[str, ...] = (*NUMERIC_COLUMNS, *CATEGORICAL_COLUMNS, *TEXT_COLUMNS)
# the first non-numeric @handle: how the stream names a customer tweet's brand (streaming/LAKE.md)
_BRAND_HANDLE = r"@([A-Za-z_]\w*)"
UNKNOWN_BRAND = "unknown"


def monitored_frame(tweets: pd.DataFrame) -> pd.DataFrame:
    """The monitored columns of lake rows; columns the input lacks are left out, so a reference
    without predictions (training data) is compared on what it has."""
    out = pd.DataFrame(index=tweets.index)
    for column in ID_COLUMNS:
        if column in tweets:
            out[column] = tweets[column].astype("string")
    if "text" in tweets:
        text = tweets["text"].astype("string")
        out["text"] = text.fillna("")
        out["text_length"] = text.str.len().astype("float64")
    for column in ("probability", "category_confidence"):
        if column in tweets:
            out[column] = pd.to_numeric(tweets[column], errors="coerce").astype("float64")
    for column in ("language", "brand", "sentiment", "category"):
        if column in tweets:
            out[column] = tweets[column].astype("string")
    if "predicted_inbound" in tweets:
        out["predicted_inbound"] = _bool_label(tweets["predicted_inbound"])
    return out.reset_index(drop=True)


def training_frame(features: pd.DataFrame) -> pd.DataFrame:
    """The featurize stage's split as lake-like rows: its `inbound` label stands for the
    prediction, its labelled sentiment and category for the models' (customer tweets only, as
    in the lake), and the brand is found the way the stream finds it."""
    rows = pd.DataFrame({"text": features["text"]})
    inbound = features["inbound"].astype(bool)
    rows["predicted_inbound"] = inbound
    rows["brand"] = brand_of(features["text"], features["author_id"], inbound)
    for column in ("sentiment", "category"):
        if column in features:
            rows[column] = features[column].where(inbound)
    return monitored_frame(rows)


def brand_of(text: pd.Series, author: pd.Series, inbound: pd.Series) -> pd.Series:
    """A brand reply's author, else the first non-numeric @handle of the text."""
    named = text.astype("string").str.extract(_BRAND_HANDLE, expand=False).str.slice(0, 64)
    brand = author.astype("string").where(~inbound.astype(bool), named)
    return brand.fillna(UNKNOWN_BRAND)


def _bool_label(values: pd.Series) -> pd.Series:
    """Booleans as `inbound`/`outbound` labels: a categorical column, missing stays missing."""
    mapped = values.map({True: "inbound", False: "outbound"})
    return mapped.astype("string")
