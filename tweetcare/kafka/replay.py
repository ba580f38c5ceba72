"""Replay a twcs-format CSV onto the `tweets` topic, as a stand-in for the live Twitter/X feed.

Rows go out in `created_at` order, one JSON message each, keyed by conversation so a thread
stays in one partition. Bad rows are sent as they are: the streaming job's dead-letter queue,
not the producer, decides what is malformed, so replay never drops or repairs anything.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from tweetcare.core.conversations import conversation_ids
from tweetcare.core.errors import UsageError
from tweetcare.core.schemas import TWCS_COLUMNS, TWCS_DATE_FORMAT, TweetMessage
from tweetcare.core.settings import Settings
from tweetcare.kafka.producer import FLUSH_TIMEOUT_S, producer

MESSAGE_FIELDS: tuple[str, ...] = tuple(TweetMessage.model_fields)
INBOUND_VALUES: dict[str, bool] = {"True": True, "False": False}


@dataclass(frozen=True)
class ReplayReport:
    sent: int
    failed: int
    topic: str
    seconds: float
    first_error: str | None = None


def replay(
    csv: Path,
    settings: Settings,
    rate: float | None = None,
    speed: float | None = None,
    limit: int | None = None,
    progress: bool = True,
) -> ReplayReport:
    """Publish the CSV's rows in time order, at `rate` msgs/s, at `speed`x real time, or flat out."""
    check_pacing(rate, speed, limit)
    rows = order_by_created_at(load_tweets(csv))
    if limit is not None:
        rows = rows.head(limit)
    due = due_seconds(rows["created_at"], rate=rate, speed=speed)
    return _publish(settings, rows.to_dict(orient="records"), due, progress)


def publish_messages(
    settings: Settings,
    messages: Sequence[TweetMessage],
    rate: float | None = None,
    progress: bool = True,
) -> ReplayReport:
    """Publish ready-made tweets (e.g. the demo's generated live hour) in the order given, keyed
    by conversation like a replay, at `rate` msgs/s or flat out."""
    check_pacing(rate, None, None)
    records = [message.model_dump() for message in messages]
    due = due_seconds(pd.Series([m.created_at for m in messages], dtype=object), rate=rate)
    return _publish(settings, records, due, progress)


def _publish(
    settings: Settings, records: list[dict[str, Any]], due: np.ndarray, progress: bool
) -> ReplayReport:
    """Send each record when it is due (seconds after the first), keyed by its conversation."""
    tally = _Tally()
    started = time.monotonic()
    with producer(settings) as prod:
        for record, at in tqdm(
            zip(records, due, strict=True),
            total=len(records),
            disable=not progress,
            unit="msg",
            desc=f"replay → {settings.topic_tweets}",
        ):
            wait = started + at - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            key = record.get("conversation_id")
            future = prod.send(
                settings.topic_tweets,
                key=key.encode() if key else None,
                value=build_message(record),
            )
            future.add_callback(tally.ok)
            future.add_errback(tally.error)
        prod.flush(timeout=FLUSH_TIMEOUT_S)
    return ReplayReport(
        sent=tally.sent,
        failed=tally.failed,
        topic=settings.topic_tweets,
        seconds=time.monotonic() - started,
        first_error=tally.first_error,
    )


def publish_raw(settings: Settings, values: list[bytes], key: bytes | None = None) -> int:
    """Send bytes as they are (e.g. b"not json") to the tweets topic; returns how many were acked."""
    with producer(settings) as prod:
        futures = [prod.send(settings.topic_tweets, key=key, value=value) for value in values]
        prod.flush(timeout=FLUSH_TIMEOUT_S)
        for future in futures:
            future.get(timeout=FLUSH_TIMEOUT_S)
    return len(futures)


def check_pacing(rate: float | None, speed: float | None, limit: int | None) -> None:
    if rate is not None and speed is not None:
        raise UsageError("--rate and --speed exclude each other: pick a fixed rate or a speed-up")
    if rate is not None and rate <= 0:
        raise UsageError(f"--rate must be positive (messages per second), got {rate}")
    if speed is not None and speed <= 0:
        raise UsageError(f"--speed must be positive (times real time), got {speed}")
    if limit is not None and limit < 0:
        raise UsageError(f"--limit must be zero or more, got {limit}")


def load_tweets(csv: Path) -> pd.DataFrame:
    """The CSV as strings (empty cells become None) plus each row's conversation_id."""
    if not csv.is_file():
        raise UsageError(f"no CSV at {csv}")
    try:
        frame = pd.read_csv(csv, dtype=str, keep_default_na=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise UsageError(f"{csv} is not a readable twcs CSV: {err}") from err
    missing = [column for column in TWCS_COLUMNS if column not in frame.columns]
    if missing:
        raise UsageError(
            f"{csv} lacks twcs columns {', '.join(missing)}; expected {', '.join(TWCS_COLUMNS)}"
        )
    frame = frame.astype(object).where(frame.notna(), None)
    frame["conversation_id"] = (
        conversation_ids(frame["tweet_id"], frame["in_response_to_tweet_id"])
        .astype(object)
        .where(lambda ids: ids.notna(), None)
    )
    return frame


def order_by_created_at(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by time, ties and unparsable dates keeping file order (the latter at the end)."""
    created = parse_created_at(frame["created_at"])
    order = created.sort_values(kind="stable", na_position="last").index
    return frame.loc[order].reset_index(drop=True)


def parse_created_at(created_at: pd.Series) -> pd.Series:
    return pd.to_datetime(created_at, format=TWCS_DATE_FORMAT, errors="coerce", utc=True)


def due_seconds(
    created_at: pd.Series, rate: float | None = None, speed: float | None = None
) -> np.ndarray:
    """When each (already ordered) message is due, in seconds after the first one.

    A fixed rate spaces messages 1/rate apart; a speed-up replays the gaps between tweets
    divided by `speed`; rows without a usable date go out right after the previous one.
    """
    count = len(created_at)
    if rate is not None:
        return np.arange(count, dtype=float) / rate
    if speed is None or count == 0:
        return np.zeros(count)
    times = parse_created_at(created_at.reset_index(drop=True))
    offsets = (times - times.min()).dt.total_seconds() / speed
    return offsets.ffill().fillna(0.0).cummax().to_numpy(dtype=float)


def build_message(record: dict[str, Any]) -> bytes:
    """The JSON value for one row: TweetMessage's fields, nothing repaired.

    `inbound` becomes a JSON boolean only when it reads "True"/"False"; anything else goes out
    as found so the stream dead-letters the row.
    """
    message = {name: _plain(record.get(name)) for name in MESSAGE_FIELDS}
    inbound = message["inbound"]
    if isinstance(inbound, str) and inbound in INBOUND_VALUES:
        message["inbound"] = INBOUND_VALUES[inbound]
    return json.dumps(message, ensure_ascii=False).encode()


def _plain(value: Any) -> Any:
    """None for missing cells (NaN/NA), the value itself otherwise."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return value


class _Tally:
    """Delivery results, counted from the producer's I/O thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sent = 0
        self.failed = 0
        self.first_error: str | None = None

    def ok(self, _metadata: object) -> None:
        with self._lock:
            self.sent += 1

    def error(self, exc: BaseException) -> None:
        with self._lock:
            self.failed += 1
            if self.first_error is None:
                self.first_error = repr(exc)
