"""The demo's "live hour": generated traffic on the hour ending now, for the monitor to judge.

A replay is processed in a minute or two, so the lake's `processed_at` never spans the hour the
monitor's windows need; these tweets carry their own timeline in `created_at`, and the demo's
monitor run cuts its windows on that column (`TIME_COLUMN`). They come from the scenario streams
(`monitor.live_hour` in params.yaml): steady traffic, then over the last two monitor windows a
steady one followed by a shifted one (so the shift shows against the training data and against
the window before), and a burst of similar complaints to one brand in the last minutes (an
escalation). Their ids start with `live-`, so they cannot collide with twcs ids (numbers).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from tweetcare.core.errors import UserError
from tweetcare.core.schemas import TweetMessage
from tweetcare.data.generator import format_created_at
from tweetcare.monitoring import scenarios
from tweetcare.monitoring.config import LiveHourParams, MonitorParams

TIME_COLUMN = "created_at"
ID_PREFIX = "live"
# the parts of the hour, by the letter their ids carry: each is drawn with its own seed
STEADY, SHIFTED, BURST = "s", "x", "b"


def live_hour_params(params: MonitorParams) -> LiveHourParams:
    """The `monitor.live_hour` block, checked against the windows it has to fill."""
    hour = params.live_hour
    if hour is None:
        raise UserError(
            "params.yaml has no monitor.live_hour block: add it (see the README's demo section) "
            "or run the demo with --no-live-hour"
        )
    if hour.duration <= 2 * params.window:
        raise UserError(
            f"monitor.live_hour.duration ({hour.duration}) must be longer than two monitor "
            f"windows ({2 * params.window}): its last two windows hold the shift"
        )
    if hour.burst_duration > params.escalation.window:
        raise UserError(
            f"monitor.live_hour.burst_duration ({hour.burst_duration}) must fit in one "
            f"escalation window ({params.escalation.window}), or the burst is counted in halves"
        )
    return hour


def live_hour_rows(params: MonitorParams, now: datetime) -> pd.DataFrame:
    """The hour ending at `now` (to the second) as lake rows, in `created_at` order, the
    generator's labels standing for the models' answers; `processed_at` equals `created_at`."""
    hour = live_hour_params(params)
    end = now.replace(microsecond=0)
    judged = 2 * params.window
    parts = {
        STEADY: scenarios.steady_stream(
            hour.steady_rows, hour.seed, end - hour.duration, _minutes(hour.duration - judged)
        ),
        SHIFTED: scenarios.shifted_stream(
            hour.shift_rows, hour.seed + 1, hour.shift, end - judged, _minutes(judged)
        ),
        BURST: scenarios.burst_complaints(
            hour.burst,
            hour.seed + 2,
            hour.brand,
            hour.category,
            start=end - hour.burst_duration,
            minutes=_minutes(hour.burst_duration),
        ),
    }
    frames = []
    for part, frame in parts.items():
        frame = frame.copy()
        # a conversation id is its root tweet's id: renamed alike, the threads stay whole
        for column in ("tweet_id", "conversation_id"):
            frame[column] = f"{ID_PREFIX}-{hour.seed}-{part}-" + frame[column].astype(str)
        frames.append(frame)
    rows = pd.concat(frames, ignore_index=True)
    # whole seconds, as twcs dates carry them: the rows are what the stream will store
    times = pd.to_datetime(rows[TIME_COLUMN], utc=True).dt.floor("s")
    rows["created_at"] = rows["processed_at"] = times
    rows["date"] = times.dt.strftime("%Y-%m-%d")
    return rows.sort_values(TIME_COLUMN, kind="stable").reset_index(drop=True)


def live_hour_messages(rows: pd.DataFrame) -> list[TweetMessage]:
    """The rows as the stream's messages: the source fields only, `created_at` in twcs format."""
    created = format_created_at([int(t.timestamp()) for t in rows["created_at"]])
    return [
        TweetMessage(
            tweet_id=tweet_id,
            author_id=author_id,
            inbound=bool(inbound),
            created_at=created_at,
            text=text,
            conversation_id=conversation_id,
        )
        for tweet_id, author_id, inbound, created_at, text, conversation_id in zip(
            rows["tweet_id"],
            rows["author_id"],
            rows["inbound"],
            created,
            rows["text"],
            rows["conversation_id"],
            strict=True,
        )
    ]


def _minutes(span: timedelta) -> float:
    return span / timedelta(minutes=1)
