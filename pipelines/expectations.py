"""Great Expectations suites for the raw twcs file, the agents' corrections file, imported
labelled sets and the train/val/test splits.

The suites only describe what good data looks like; ``pipelines.validate`` runs them. Checks GE
cannot express on raw columns (inbound share, parent links, conversation overlap) run on derived
columns that ``raw_validation_frame`` and ``split_validation_frame`` add, so every rule still
shows up, with its failing values, in the same report and Data Docs.
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd

from tweetcare.core.params import ValidateParams
from tweetcare.core.schemas import (
    CATEGORIES,
    CORRECTED_FIELDS,
    SENTIMENTS,
    TWCS_COLUMNS,
)
from tweetcare.data.labelled import ID_CONTROL, LABELLED_COLUMNS, TEXT_CONTROL, allowed_labels

# twcs writes booleans as Python's str(bool); read with dtype=str they stay these two strings
INBOUND_VALUES = ("True", "False")
# derived columns the raw suite checks
INBOUND_FLAG = "inbound_flag"
DANGLING_PARENT = "dangling_parent_id"
# twcs columns that must always carry a value
REQUIRED_VALUES = ("tweet_id", "author_id", "inbound", "created_at", "text")
# derived frame for the split suite: one row per (conversation, split) pair
SPLIT_COLUMN = "split"
SPLIT_REQUIRED = ("tweet_id", "conversation_id", "author_id", "created_at", "text", "inbound")
# corrections.csv columns that must always carry a value (category/sentiment: customers only)
CORRECTION_REQUIRED = ("tweet_id", "text", "inbound", "corrected", "agent", "corrected_at")
# derived columns the corrections suite checks
CORRECTED_AT_UTC = "corrected_at_utc"
BRAND_TWEET_LABEL = "brand_tweet_label"


def raw_validation_frame(raw: pd.DataFrame) -> pd.DataFrame:
    """The raw frame plus the derived columns the raw suite reads (missing columns stay missing)."""
    frame = raw.copy()
    if "inbound" in frame:
        # 1.0 / 0.0, and NaN for a value outside {True, False} (that has its own expectation)
        frame[INBOUND_FLAG] = frame["inbound"].map({"True": 1.0, "False": 0.0}).astype("float64")
    if {"tweet_id", "in_response_to_tweet_id"} <= set(frame.columns):
        parents = frame["in_response_to_tweet_id"]
        dangling = parents.notna() & ~parents.isin(frame["tweet_id"])
        frame[DANGLING_PARENT] = parents.where(dangling)
    return frame


def raw_suite(params: ValidateParams, name: str = "raw_twcs") -> gx.ExpectationSuite:
    """What a usable twcs file looks like; thresholds come from params.yaml's ``validate``."""
    expectations: list[gxe.Expectation] = [gxe.ExpectColumnToExist(column=c) for c in TWCS_COLUMNS]
    expectations += [gxe.ExpectColumnValuesToNotBeNull(column=c) for c in REQUIRED_VALUES]
    expectations += [
        gxe.ExpectColumnValuesToBeUnique(column="tweet_id"),
        gxe.ExpectColumnValuesToBeInSet(column="inbound", value_set=list(INBOUND_VALUES)),
        # at least one visible character: whitespace-only tweets carry nothing to classify
        gxe.ExpectColumnValuesToMatchRegex(column="text", regex=r"\S"),
        gxe.ExpectColumnValueLengthsToBeBetween(
            column="text", min_value=params.min_text_chars, max_value=params.max_text_chars
        ),
        gxe.ExpectColumnMeanToBeBetween(
            column=INBOUND_FLAG,
            min_value=params.min_inbound_share,
            max_value=params.max_inbound_share,
        ),
        # real twcs replies to tweets outside the dump, so only a share of links must resolve
        gxe.ExpectColumnValuesToBeNull(
            column=DANGLING_PARENT, mostly=1.0 - params.max_dangling_parent_share
        ),
    ]
    return gx.ExpectationSuite(name=name, expectations=expectations)


def split_validation_frame(splits: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """All splits stacked with a ``split`` column, as the split suite expects."""
    return pd.concat(
        [frame.assign(**{SPLIT_COLUMN: name}) for name, frame in splits.items()],
        ignore_index=True,
    )


def conversation_split_pairs(stacked: pd.DataFrame) -> pd.DataFrame:
    """Distinct (conversation, split) pairs: a conversation id repeats iff it crosses splits."""
    return stacked[["conversation_id", SPLIT_COLUMN]].drop_duplicates().reset_index(drop=True)


def split_suite(name: str) -> gx.ExpectationSuite:
    """What one split must satisfy before training sees it: complete rows and both classes."""
    expectations: list[gxe.Expectation] = [
        gxe.ExpectColumnValuesToNotBeNull(column=c) for c in SPLIT_REQUIRED
    ]
    expectations += [
        gxe.ExpectColumnValuesToBeUnique(column="tweet_id"),
        gxe.ExpectColumnDistinctValuesToEqualSet(column="inbound", value_set=[True, False]),
    ]
    return gx.ExpectationSuite(name=name, expectations=expectations)


def no_overlap_suite(name: str = "conversations_in_one_split") -> gx.ExpectationSuite:
    """Run on ``conversation_split_pairs``: no thread may leak from train into val or test."""
    return gx.ExpectationSuite(
        name=name, expectations=[gxe.ExpectColumnValuesToBeUnique(column="conversation_id")]
    )


def corrections_validation_frame(corrections: pd.DataFrame) -> pd.DataFrame:
    """corrections.csv plus derived columns: the parsed timestamp (NaT when it is not ISO-8601)
    and a brand tweet's category or sentiment (which must be empty)."""
    frame = corrections.copy()
    stamps = frame["corrected_at"].where(frame["corrected_at"].notna(), None)
    frame[CORRECTED_AT_UTC] = pd.to_datetime(stamps, errors="coerce", utc=True, format="ISO8601")
    brand = frame["inbound"] == "False"
    frame[BRAND_TWEET_LABEL] = frame["category"].fillna(frame["sentiment"]).where(brand)
    return frame


def corrections_suite(name: str = "corrections") -> gx.ExpectationSuite:
    """What an exported corrections file must hold before its labels train anything."""
    changed = "|".join(CORRECTED_FIELDS)
    expectations: list[gxe.Expectation] = [
        gxe.ExpectColumnValuesToNotBeNull(column=c) for c in CORRECTION_REQUIRED
    ]
    expectations += [
        gxe.ExpectColumnValuesToBeUnique(column="tweet_id"),
        gxe.ExpectColumnValuesToMatchRegex(column="text", regex=r"\S"),
        gxe.ExpectColumnValuesToBeInSet(column="inbound", value_set=list(INBOUND_VALUES)),
        # empty (null) category/sentiment pass: a correction may leave one unanswered
        gxe.ExpectColumnValuesToBeInSet(column="category", value_set=list(CATEGORIES)),
        gxe.ExpectColumnValuesToBeInSet(column="sentiment", value_set=list(SENTIMENTS)),
        gxe.ExpectColumnValuesToMatchRegex(
            column="corrected", regex=rf"^(?:{changed})(?:,(?:{changed}))*$"
        ),
        gxe.ExpectColumnValuesToNotBeNull(column=CORRECTED_AT_UTC),
        gxe.ExpectColumnValuesToBeNull(column=BRAND_TWEET_LABEL),
    ]
    return gx.ExpectationSuite(name=name, expectations=expectations)


def labelled_suite(task: str, params: ValidateParams) -> gx.ExpectationSuite:
    """What a labelled set (``tweetcare data labels import``) must hold before it trains anything:
    every field filled, tweet ids unique, texts within params.yaml's ``validate`` bounds and free
    of control characters, and each label one the task knows."""
    ids = ("tweet_id", "conversation_id")
    expectations: list[gxe.Expectation] = [
        gxe.ExpectColumnToExist(column=c) for c in LABELLED_COLUMNS
    ]
    expectations += [gxe.ExpectColumnValuesToNotBeNull(column=c) for c in LABELLED_COLUMNS]
    expectations += [
        gxe.ExpectColumnValuesToMatchRegex(column=c, regex=r"\S") for c in LABELLED_COLUMNS
    ]
    expectations += [gxe.ExpectColumnValuesToNotMatchRegex(column=c, regex=ID_CONTROL) for c in ids]
    expectations += [
        gxe.ExpectColumnValuesToBeUnique(column="tweet_id"),
        gxe.ExpectColumnValueLengthsToBeBetween(
            column="text", min_value=params.min_text_chars, max_value=params.max_text_chars
        ),
        gxe.ExpectColumnValuesToNotMatchRegex(column="text", regex=TEXT_CONTROL),
        gxe.ExpectColumnValuesToBeInSet(column="label", value_set=list(allowed_labels(task))),
    ]
    return gx.ExpectationSuite(name=f"labelled_{task}", expectations=expectations)
