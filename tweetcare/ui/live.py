"""Live: what the stream does right now, refreshed every few seconds while the page is open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.ui import backends
from tweetcare.ui.components import guarded
from tweetcare.ui.config import CONFIG
from tweetcare.ui.data import (
    first_response_from_lake,
    first_response_from_tickets,
    format_duration,
    live_timeline,
    live_totals,
)
from tweetcare.ui.safe import literal_columns

LAKE_RESPONSE_COLUMNS = ["tweet_id", "conversation_id", "author_id", "inbound", "created_at"]


def render(settings: Settings) -> None:
    st.title("Live")
    st.caption(
        f"The last {CONFIG.live_window_minutes} minutes of the stream, in "
        f"{CONFIG.live_bin_seconds}s bars; refreshes every {CONFIG.live_refresh_seconds:.0f}s."
    )
    panel(settings)


@st.fragment(run_every=CONFIG.live_refresh_seconds)
def panel(settings: Settings) -> None:
    guarded(_panel, settings)


def _panel(settings: Settings) -> None:
    now = datetime.now(UTC)
    window = CONFIG.live_window_minutes
    batches = backends.read_batches(settings, since=now - timedelta(minutes=window))
    totals = live_totals(batches, now, window)
    cells = st.columns(4)
    cells[0].metric(
        "Tweets / s",
        f"{totals.tweets_per_second:.1f}",
        f"{totals.tweets} tweets",
        delta_color="off",
        delta_arrow="off",
    )
    share = "—" if totals.inbound_share is None else f"{totals.inbound_share:.0%}"
    cells[1].metric("Inbound share", share)
    cells[2].metric("Tickets opened", totals.tickets_opened)
    cells[3].metric("Dead letters", totals.dead_letters)
    if not batches:
        st.info(
            f"No micro-batches in the last {window} minutes: the stream is idle or stopped. "
            "Start it with `tweetcare stream start` and feed it with `tweetcare replay`, "
            "or run `tweetcare demo`."
        )
    else:
        timeline = live_timeline(batches, now, window, CONFIG.live_bin_seconds)
        left, right = st.columns(2)
        left.markdown("**Tweets per second**")
        left.bar_chart(timeline["tweets_per_second"])
        right.markdown("**Inbound share**")
        right.bar_chart(timeline["inbound_share"])
        left.markdown("**Tickets opened**")
        left.bar_chart(timeline["tickets_opened"])
        right.markdown("**Dead letters**")
        right.bar_chart(timeline["dead_letters"])
    counts = backends.with_store(settings, lambda store: store.counts())
    st.caption(
        f"Since the store was created: {counts['messages']} messages in {counts['batches']} "
        f"batches, {counts['tickets']} tickets, {counts['dead_lettered']} dead letters."
    )
    st.subheader("First response time per brand")
    show_first_responses(settings)


def show_first_responses(settings: Settings) -> None:
    """From the tickets' recorded first responses; from the lake's threads if none has one."""
    try:
        responses = first_response_from_tickets(backends.read_tickets(settings))
    except (backends.BackendDown, UserError):  # the lake's threads can still tell
        responses = first_response_from_tickets([])
    source = "tickets"
    if responses.empty:
        try:
            tweets = backends.read_lake(settings, LAKE_RESPONSE_COLUMNS)
        except backends.BackendDown as err:
            st.caption(f"No first responses yet. {err.backend}: {err.detail} ({err.hint}).")
            return
        responses, source = first_response_from_lake(tweets), "the lake's threads"
    if responses.empty:
        st.caption("No brand has answered a customer yet.")
        return
    st.caption(f"Minutes from a customer's first tweet to the brand's first reply ({source}).")
    st.bar_chart(responses.set_index("brand")["median_minutes"], horizontal=True)
    st.table(literal_columns(response_table(responses), ["brand"]), hide_index=True)


def response_table(responses: pd.DataFrame) -> pd.DataFrame:
    """Minutes as readable durations (`1h 05m`), for people rather than charts."""
    readable = responses[["brand", "conversations"]].copy()
    for column, title in (("median_minutes", "median"), ("p90_minutes", "90th percentile")):
        readable[title] = (responses[column] * 60).map(format_duration)
    return readable
