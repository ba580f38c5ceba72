"""Monitoring: what `tweetcare monitor run` found, escalation incidents first (the banner every
page shows links here), then drift and data quality per window and their breaches.

Everything but the last section is read from the ticket store and the lake, so the page works
with Kafka stopped; the `alerts` topic is read only when an agent asks for it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

import altair as alt  # Streamlit's own chart library
import pandas as pd
import streamlit as st

from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.ui import backends
from tweetcare.ui.components import guarded
from tweetcare.ui.data import (
    MONITORING_COLUMNS,
    alert_table,
    breach_table,
    format_when,
    incident_table,
    metric_history,
    window_detail,
    window_ends,
    window_table,
)
from tweetcare.ui.data.monitoring import INPUT_DRIFT, PREDICTION_DRIFT
from tweetcare.ui.safe import literal_columns


def render(settings: Settings) -> None:
    st.title("Monitoring")
    st.caption(
        "What `tweetcare monitor run` recorded: run it every few minutes (cron, a scheduler) and "
        "it judges the lake's latest window against the champion's training data and the window "
        "before, with the thresholds of params.yaml's `monitor:` block, and records escalations."
    )
    now = datetime.now(UTC)
    # each section on its own: a ticket store that is down leaves the lake's figures readable
    guarded(partial(show_incidents, now=now), settings)
    guarded(partial(show_drift, now=now), settings)
    show_alerts_topic(settings, now)


def show_incidents(settings: Settings, now: datetime) -> None:
    """The ticket store's escalation incidents, active ones first."""
    st.subheader("Escalation incidents")
    incidents = backends.read_incidents(settings)
    if not incidents:
        st.info(
            "No escalation incident recorded yet. `tweetcare monitor run` records one when "
            "complaints about a brand or a category, outage reports or one thread spike above "
            "their recent history; while it is active, routing raises the open tickets it covers."
        )
        return
    table = incident_table(incidents, now)
    active = int((table["state"] == "active").sum())
    levels = backends.incident_raise_levels(settings)
    raised = (
        f"routing raises the open tickets in an active incident's scope by {levels} priority "
        f"level{'s' if levels != 1 else ''} (`priority.incident_raise` in routing.yaml)"
        if levels
        else "routing does not raise their tickets (`priority.incident_raise` is 0)"
    )
    st.caption(
        f"{active} active of the {len(table)} most recently seen. An incident stays active for "
        f"`monitor.escalation.incident_ttl` after its latest alert; {raised}."
    )
    st.table(literal_columns(table, ["kind", "scope", "alert id"]), hide_index=True)


def show_drift(settings: Settings, now: datetime) -> None:
    """The lake's `monitoring` table: the windows, a history chart, the breaches, one window's
    figures and reports."""
    st.subheader("Drift and data quality")
    rows = backends.read_monitoring(settings)
    if rows.empty:
        st.info(
            f"No monitor run in the lake yet (`{backends.monitoring_table(settings)}`): "
            f"{backends.FILL_MONITORING}. A window with fewer than `monitor.min_rows` tweets is "
            "not judged and adds nothing here."
        )
        return
    missing = [c for c in MONITORING_COLUMNS if c not in rows]
    if missing:
        raise UserError(
            f"the lake's monitoring table lacks {', '.join(missing)}: it was not written by "
            "`tweetcare monitor run`"
        )
    windows = window_table(rows, now)
    breaches = breach_table(rows, now)
    show_latest(windows, breaches)

    st.markdown(
        "**The worst figure of each kind, as a share of its threshold** — above the dashed "
        "line (1.0) is a breach"
    )
    st.altair_chart(history_chart(metric_history(rows)))
    st.markdown(
        "**Judged windows**, newest first: the worst drift figure of each kind (its column, "
        "value and limit), the dead-letter rate, every figure over its limit"
    )
    st.table(literal_columns(windows, [INPUT_DRIFT, PREDICTION_DRIFT, "breaches"]), hide_index=True)
    st.markdown("**Breaches**")
    if breaches.empty:
        st.caption(f"No figure over its limit in the {len(windows)} recorded comparisons.")
    else:
        st.table(literal_columns(breaches, ["figure", "method"]), hide_index=True)
    show_window(rows, now)


def history_chart(history: pd.DataFrame) -> alt.LayerChart:
    """One line per kind over the windows' ends, in UTC on a 24-hour clock (Vega's default is a
    12-hour one in the browser's zone), and the threshold as a dashed rule."""
    long = history.reset_index().melt("window end", var_name="figure", value_name="share")
    x = alt.X(
        "window end:T",
        title="window end (UTC)",
        scale=alt.Scale(type="utc"),
        axis=alt.Axis(format="%H:%M"),
    )
    lines = (
        alt.Chart(long.dropna())
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y("share:Q", title="share of threshold"),
            color=alt.Color("figure:N", sort=list(history.columns)),
            tooltip=["figure", alt.Tooltip("share:Q", format=".2f")],
        )
    )
    limit = (
        alt.Chart(pd.DataFrame({"threshold": [1.0]}))
        .mark_rule(color="#555555", strokeDash=[6, 4])
        .encode(y="threshold:Q")
    )
    return lines + limit


def show_latest(windows: pd.DataFrame, breaches: pd.DataFrame) -> None:
    """One line on the newest window: within its limits, or what it breached."""
    latest = windows["window end"].iloc[0]
    over = breaches[breaches["window end"] == latest]
    if over.empty:
        st.success(f"The latest window (ended {latest}) is within every limit.")
        return
    figures = "; ".join(
        f"{r.figure} vs {r.reference} {r.value} (limit {r.threshold})"
        for r in over.itertuples(index=False)
    )
    st.warning(f"The latest window (ended {latest}) breached: {figures}.")


def show_window(rows: pd.DataFrame, now: datetime) -> None:
    """Every figure of one window, where its Evidently reports are, and its MLflow run."""
    ends = window_ends(rows)
    chosen = st.selectbox(
        "Window", ends, format_func=lambda end: f"ended {format_when(end, now)}", key="window"
    )
    if chosen is None:
        return
    detail = window_detail(rows, chosen)
    for reference, path in detail.reports.items():
        st.markdown(f"Evidently report vs {reference}: `{path}`")
    if not detail.reports:
        st.caption("No report path recorded for this window (a monitor older than the console).")
    if detail.mlflow_run_id:
        st.caption(f"Logged to MLflow as run `{detail.mlflow_run_id}` (the reports are artifacts).")
    else:
        st.caption("Not logged to MLflow (the run had `--no-track`).")
    breached = int((detail.figures["breached"] == "yes").sum())
    with st.expander(f"Every figure of this window ({len(detail.figures)}, {breached} over)"):
        st.table(literal_columns(detail.figures, ["figure", "method"]), hide_index=True)


def show_alerts_topic(settings: Settings, now: datetime) -> None:
    """The `alerts` topic, read on request: the page never waits for Kafka on its own."""
    st.subheader("The `alerts` topic")
    st.caption(
        "The monitor also publishes every breach and escalation to Kafka's `alerts` topic (for "
        "pagers and chat). The sections above need no broker; this one reads it when asked."
    )
    if not st.button("Read the latest alerts", icon=":material/notifications:"):
        return
    try:
        messages = backends.read_alert_messages(settings)
    except backends.BackendDown as err:
        st.info(
            f"{err.backend} is not running at `{err.where}`: {err.hint}. The incidents and "
            "breaches above come from the ticket store and the lake."
        )
        return
    if not messages:
        st.caption("The topic holds no alerts yet.")
        return
    table = alert_table(messages, now)
    st.table(literal_columns(table, ["alert id", "kind", "scope", "what"]), hide_index=True)
