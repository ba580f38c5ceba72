"""The shapes data takes as it moves: twcs rows, stream messages, predictions.

One definition here keeps the generator, the importer, the replay producer, the streaming job
and the model server from drifting apart.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# The column order of Kaggle's "Customer Support on Twitter" twcs.csv.
TWCS_COLUMNS: tuple[str, ...] = (
    "tweet_id",
    "author_id",
    "inbound",
    "created_at",
    "text",
    "response_tweet_id",
    "in_response_to_tweet_id",
)

# twcs writes dates like "Tue Oct 31 22:10:47 +0000 2017".
TWCS_DATE_FORMAT = "%a %b %d %H:%M:%S %z %Y"


@functools.lru_cache(maxsize=65_536)
def parse_twcs_time(value: str) -> datetime | None:
    """A twcs timestamp in UTC, or None when it does not follow TWCS_DATE_FORMAT. Cached: the
    stream parses each tweet's time three times (message, ticket, lake row), and `strptime` was
    7% of its Python workers' samples (py-spy, benchmarks/stream.py)."""
    try:
        return datetime.strptime(value, TWCS_DATE_FORMAT).astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: a UTC offset that leaves years 1-9999
        return None


# Ground truth the generator writes beside twcs.csv (labels.csv), keyed by tweet_id.
LABEL_COLUMNS: tuple[str, ...] = (
    "tweet_id",
    "category",
    "sentiment",
    "needs_ticket",
    "entities",
)
# An optional labels.csv column after LABEL_COLUMNS: the TICKET_FLAGS value of a flagged customer
# tweet ("" when none). The split keeps LABEL_COLUMNS only; the analysis stage joins this by id.
LABEL_FLAG_COLUMN = "flag"

CATEGORIES: tuple[str, ...] = (
    "billing",
    "technical",
    "delivery",
    "account",
    "service",
    "travel",
    "product",
    "praise",
    "other",
)
SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")

# data/corrections.csv, written by `tweetcare data corrections export`: one row per tweet an agent
# corrected, its labels as they stand after the correction (category and sentiment empty for
# brand tweets; inbound as "True"/"False"). The split stage trains on it (params.yaml data).
CORRECTION_COLUMNS: tuple[str, ...] = (
    "tweet_id",
    "text",
    "inbound",
    "category",
    "sentiment",
    "corrected",
    "agent",
    "corrected_at",
)
# the answers an agent can correct; `corrected` lists the changed ones, comma-separated
CORRECTED_FIELDS: tuple[str, ...] = ("inbound", "category", "sentiment")

Label = Literal["inbound", "outbound"]

# The longest id and @handle both stores keep (`String(64)` columns of the ticket store, which
# Postgres enforces and SQLite does not): checked here, once, so a too-long id is a dead letter
# with its reason on either database instead of a tweet one of them refuses. X's ids are at
# most 19 digits and its handles 15 characters; a longer @word in a text is no handle at all.
ID_MAX_CHARS = 64
HANDLE_MAX_CHARS = 64


class TweetMessage(BaseModel):
    """One tweet on the `tweets` topic: a twcs row plus the conversation it belongs to.

    Ids stay strings: real twcs ids fit in int64, but response_tweet_id may list several ids
    ("3,5"), and strings survive JSON in every language unchanged.
    """

    model_config = ConfigDict(extra="ignore")

    tweet_id: str = Field(min_length=1, max_length=ID_MAX_CHARS)
    author_id: str = Field(min_length=1, max_length=ID_MAX_CHARS)
    inbound: bool
    created_at: str = Field(min_length=1)
    text: str = Field(min_length=1)
    # not stored in a column of their own: no length to keep to
    response_tweet_id: str | None = None
    in_response_to_tweet_id: str | None = None
    conversation_id: str = Field(min_length=1, max_length=ID_MAX_CHARS)


# Fields a stream message must carry; the streaming job dead-letters messages that lack one.
REQUIRED_MESSAGE_FIELDS: tuple[str, ...] = (
    "tweet_id",
    "author_id",
    "created_at",
    "text",
    "conversation_id",
)


class ShadowScore(BaseModel):
    """The challenger's inbound answer for the same text: recorded, never acted on, so its live
    record can be compared with the champion's before it is promoted."""

    model_version: str
    inbound: bool
    inbound_probability: float = Field(ge=0.0, le=1.0)


class Classification(BaseModel):
    """What /classify answers for one text."""

    label: Label
    inbound: bool
    probability: float = Field(ge=0.0, le=1.0, description="probability of the predicted label")
    inbound_probability: float = Field(ge=0.0, le=1.0)
    # the challenger's answer when the server has one loaded; None otherwise
    shadow: ShadowScore | None = None


ENTITY_LABELS: tuple[str, ...] = (
    "LOCATION",
    "PERSON",
    "ORDER_ID",
    "FLIGHT",
    "AMOUNT",
    "PHONE",
    "EMAIL",
)
# flags that keep a customer tweet from becoming a ticket
TICKET_FLAGS: tuple[str, ...] = ("not_english", "spam", "chatter")


class Entity(BaseModel):
    """A span of the original text; `text` is masked for PHONE and EMAIL."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    label: str
    text: str


class Analysis(BaseModel):
    """What /analyze answers for one text: the contract between the model server, the stream,
    the ticket rules and the console. Brand replies skip the customer analysis (None/empty)."""

    inbound: bool
    inbound_probability: float = Field(ge=0.0, le=1.0)
    sentiment: Literal["negative", "neutral", "positive"] | None = None
    sentiment_score: float | None = Field(default=None, ge=-1.0, le=1.0)
    category: str | None = None
    category_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    entities: list[Entity] = Field(default_factory=list)
    language: str | None = None
    flags: list[str] = Field(default_factory=list)
    needs_ticket: bool
    # the text with phone numbers and emails masked: what tickets, replies and the lake keep
    masked_text: str
    # lineage: registered model name -> "version (run id)" of every model that scored it
    models: dict[str, str] = Field(default_factory=dict)
    # the challenger's inbound answer (shadow scoring); only the champion's drives tickets
    shadow: ShadowScore | None = None
