"""Weak labels from real history: the brand's reply to a customer tweet says what the customer
meant (an apology answers a problem, "you're welcome" answers thanks).

Pure logic only: the rules of ``config/weak_labels.yaml`` checked into ``WeakRules``, and
``weak_labels``, which turns a twcs-format frame into a labelled set of one task
(``tweetcare.data.labelled.LABELLED_COLUMNS``). ``tweetcare data labels weak`` reads the file,
runs the labelled sets' Great Expectations suite on the result and writes it.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from tweetcare.core.conversations import conversation_ids
from tweetcare.core.errors import UserError, describe_validation
from tweetcare.data.labelled import (
    LABELLED_COLUMNS,
    TEXT_CONTROL,
    allowed_labels,
    normalise_label,
    text_key,
)

WEAK_TASKS: tuple[str, ...] = ("sentiment", "needs_ticket", "category")
DEFAULT_RULES = Path("config/weak_labels.yaml")
# the twcs columns weak labelling reads (created_at plays no part)
HISTORY_COLUMNS: tuple[str, ...] = (
    "tweet_id",
    "author_id",
    "inbound",
    "text",
    "response_tweet_id",
    "in_response_to_tweet_id",
)


def _compiled(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as err:
        raise ValueError(f"{pattern!r} is not a regular expression ({err})") from None


class WeakRules(BaseModel):
    """``config/weak_labels.yaml``: reply patterns by signal, and the signals of each label."""

    model_config = ConfigDict(extra="forbid")

    # only customer tweets that open their thread (a follow-up inherits its thread's reply)
    openings_only: bool = True
    # reply phrases removed before matching (apologies for a late answer)
    ignore: list[str] = []
    signals: dict[str, list[str]]
    # task -> label -> signal names
    tasks: dict[str, dict[str, list[str]]]

    @field_validator("ignore")
    @classmethod
    def _ignore_compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            _compiled(pattern)
        return patterns

    @field_validator("signals")
    @classmethod
    def _signals_compile(cls, signals: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, patterns in signals.items():
            if not patterns:
                raise ValueError(f"signal {name!r} has no patterns")
            for pattern in patterns:
                _compiled(pattern)
        return signals

    @field_validator("tasks", mode="before")
    @classmethod
    def _label_keys(cls, tasks: Any) -> Any:
        # YAML reads an unquoted yes/no key as a bool: the task's own spelling instead
        if not isinstance(tasks, dict):
            return tasks
        return {
            task: {normalise_label(str(task), str(label)): names for label, names in labels.items()}
            if isinstance(labels, dict)
            else labels
            for task, labels in tasks.items()
        }

    @model_validator(mode="after")
    def _tasks_known(self) -> WeakRules:
        for task, labels in self.tasks.items():
            if task not in WEAK_TASKS:
                raise ValueError(f"task {task!r} is not one of {', '.join(WEAK_TASKS)}")
            for label, names in labels.items():
                if label not in allowed_labels(task):
                    raise ValueError(
                        f"tasks.{task}: {label!r} is not a {task} label "
                        f"(one of {', '.join(allowed_labels(task))})"
                    )
                unknown = [n for n in names if n not in self.signals]
                if unknown or not names:
                    raise ValueError(
                        f"tasks.{task}.{label} names "
                        + (f"unknown signals {', '.join(unknown)}" if unknown else "no signal")
                    )
        return self

    def labels_of(self, task: str) -> dict[str, list[str]]:
        """label -> signal names for one task; UserError when the rules give it no label."""
        if task not in WEAK_TASKS:
            raise UserError(
                f"unknown task {task!r} for weak labels: use one of {', '.join(WEAK_TASKS)}"
            )
        if not self.tasks.get(task):
            raise UserError(f"the weak-label rules have no labels for {task}: add tasks.{task}")
        return self.tasks[task]


def load_weak_rules(path: Path = DEFAULT_RULES) -> WeakRules:
    """The rules file, checked; any problem is one UserError naming the file."""
    if not path.is_file():
        raise UserError(f"weak-label rules {path} not found: pass --rules config/weak_labels.yaml")
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        message = " ".join(str(err).split())
        raise UserError(f"weak-label rules {path} are not valid YAML: {message}") from None
    try:
        return WeakRules.model_validate(loaded)
    except ValidationError as err:
        raise UserError(f"bad weak-label rules in {path}: {describe_validation(err)}") from None


@dataclass
class WeakLabels:
    """One task's weak labels: ``frame`` holds ``LABELLED_COLUMNS`` indexed like the history,
    and the counts say how much of the history they cover."""

    frame: pd.DataFrame
    customers: int  # customer tweets in the history (each id once)
    eligible: int  # ... that may be labelled (openings only, when the rules say so)
    answered: int  # ... of those with a brand reply
    conflicts: int  # replies whose signals point at two labels: no label
    unusable: int  # texts empty, too long or holding control characters: no label
    contradicted: int  # one text labelled two ways: left out
    duplicates: int  # one text, one label, more than once: kept once
    label_counts: dict[str, int] = field(default_factory=dict)

    @property
    def coverage(self) -> float:
        """Share of the history's customer tweets that got a label."""
        return len(self.frame) / self.customers if self.customers else 0.0


def _ids(values: pd.Series) -> pd.Series:
    """Ids as stripped strings, without the ``.0`` pandas leaves on ids it read as floats."""
    return values.fillna("").astype(str).str.strip().str.replace(r"\.0$", "", regex=True)


def reply_pairs(history: pd.DataFrame) -> pd.DataFrame:
    """(customer row, reply text) for every brand tweet that answers a customer tweet: linked by
    the reply's ``in_response_to_tweet_id`` or by the customer tweet's ``response_tweet_id``."""
    ids = _ids(history["tweet_id"])
    inbound = history["inbound"].fillna("").astype(str).str.strip().str.lower()
    first = ~ids.duplicated() & ids.ne("")
    customer = pd.Series(
        history.index[first & inbound.eq("true")], index=ids[first & inbound.eq("true")]
    )
    brand_rows = first & inbound.eq("false")
    brand_text = pd.Series(
        history.loc[brand_rows, "text"].fillna("").astype(str).to_numpy(), index=ids[brand_rows]
    )
    parents = _ids(history.loc[brand_rows, "in_response_to_tweet_id"])
    up = pd.DataFrame({"customer": parents.to_numpy(), "reply": ids[brand_rows].to_numpy()})
    responses = history.loc[first & inbound.eq("true"), "response_tweet_id"].fillna("").astype(str)
    down = (
        pd.DataFrame(
            {
                "customer": ids[responses.index].to_numpy(),
                "reply": responses.str.split(",").to_numpy(),
            }
        )
        .explode("reply")
        .assign(reply=lambda f: _ids(f["reply"]))
    )
    pairs = pd.concat([up, down], ignore_index=True).drop_duplicates()
    pairs = pairs[pairs["customer"].isin(customer.index) & pairs["reply"].isin(brand_text.index)]
    return pd.DataFrame(
        {
            "row": customer.reindex(pairs["customer"]).to_numpy(),
            "text": brand_text.reindex(pairs["reply"]).to_numpy(),
        }
    )


def _signal_hits(replies: pd.DataFrame, rules: WeakRules, names: set[str]) -> pd.DataFrame:
    """customer row -> True per signal any of its replies matches (ignored phrases removed)."""
    texts = replies["text"].map(html.unescape)
    for pattern in rules.ignore:
        texts = texts.str.replace(_compiled(pattern), " ", regex=True)
    hits = pd.DataFrame(
        {
            name: texts.map(
                _compiled("|".join(f"(?:{p})" for p in rules.signals[name])).search
            ).notna()
            for name in sorted(names)
        },
        index=replies.index,
        dtype=bool,
    )
    return hits.groupby(replies["row"].to_numpy()).any()


def weak_labels(
    history: pd.DataFrame, rules: WeakRules, task: str, text_bounds: tuple[int, int] = (1, 1000)
) -> WeakLabels:
    """Weak ``task`` labels for the customer tweets of a twcs-format frame (``HISTORY_COLUMNS``)
    from the brand replies that answer them. A tweet gets a label when its replies match that
    label's signals and no other label's; a brand tweet never gets one. ``text_bounds``: the
    texts a labelled set may hold (params.yaml ``validate``); others get no label."""
    labels = rules.labels_of(task)
    ids = _ids(history["tweet_id"])
    inbound = history["inbound"].fillna("").astype(str).str.strip().str.lower().eq("true")
    customers = inbound & ~ids.duplicated() & ids.ne("")
    parents = _ids(history["in_response_to_tweet_id"]).replace("", pd.NA)
    conversations = conversation_ids(ids, parents).astype(str)
    eligible = customers & (conversations.eq(ids) if rules.openings_only else True)

    replies = reply_pairs(history)
    replies = replies[replies["row"].isin(history.index[eligible])]
    names = {name for signals in labels.values() for name in signals}
    hits = _signal_hits(replies, rules, names)
    if hits.empty:
        hits = pd.DataFrame(
            False, index=pd.Index([], dtype=history.index.dtype), columns=sorted(names)
        )
    by_label = pd.DataFrame(
        {label: hits[signals].any(axis=1) for label, signals in labels.items()}, index=hits.index
    )
    count = by_label.sum(axis=1)
    label = by_label[count.eq(1)].idxmax(axis=1)

    text = history.loc[label.index, "text"].fillna("").astype(str).str.strip()
    low, high = text_bounds
    usable = text.str.len().between(low, high) & ~text.str.contains(TEXT_CONTROL, regex=True)
    frame = pd.DataFrame(
        {
            "tweet_id": ids[label.index],
            "conversation_id": conversations[label.index],
            "text": text,
            "label": label.astype(str),
        },
        columns=list(LABELLED_COLUMNS),
    )[usable].sort_index()
    keys = frame["text"].map(text_key)
    contradicted = keys.map(frame.groupby(keys)["label"].nunique()).gt(1)
    kept = frame[~contradicted]
    unique = kept[~pd.DataFrame({"k": keys[~contradicted], "l": kept["label"]}).duplicated()]
    return WeakLabels(
        frame=unique,
        customers=int(customers.sum()),
        eligible=int(eligible.sum()),
        answered=len(hits),
        conflicts=int(count.gt(1).sum()),
        unusable=int((~usable).sum()),
        contradicted=int(contradicted.sum()),
        duplicates=len(kept) - len(unique),
        label_counts=dict(Counter(unique["label"]).most_common()),
    )


def summary_rows(weak: WeakLabels) -> list[tuple[str, int]]:
    """The counts in the order ``tweetcare data labels weak`` prints them."""
    return [
        ("customer tweets", weak.customers),
        ("that may be labelled", weak.eligible),
        ("  with a brand reply", weak.answered),
        ("  reply points two ways: no label", weak.conflicts),
        ("  unusable text: no label", weak.unusable),
        ("  one text, two labels: left out", weak.contradicted),
        ("  same text and label: kept once", weak.duplicates),
        ("labelled", len(weak.frame)),
    ]
