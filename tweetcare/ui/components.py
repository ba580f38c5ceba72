"""Streamlit pieces every page shares: the backend-down message, the guard, the status sidebar,
the incident banner."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import streamlit as st

from tweetcare.core.errors import UserError
from tweetcare.core.redact import redact
from tweetcare.core.settings import Settings
from tweetcare.ui.backends import (
    BackendDown,
    active_incidents,
    backend_statuses,
    incident_raise_levels,
)
from tweetcare.ui.data import incident_banner_text
from tweetcare.ui.safe import escape_markdown

Render = Callable[[Settings], None]


def show_down(err: BackendDown) -> None:
    """Which backend, where it was looked for, and the command that starts it."""
    st.error(
        f"**{err.backend}** is not available at `{err.where}`: {err.detail}.  \n"
        f"How to fix it: {err.hint}.",
        icon=":material/power_off:",
    )


def guarded(render: Render, settings: Settings) -> None:
    """Run a page; a missing backend or bad input becomes a message, never a traceback."""
    try:
        render(settings)
    except BackendDown as err:
        show_down(err)
    except UserError as err:
        st.warning(redact(str(err)))
    except Exception as err:  # noqa: BLE001 - the page stays usable whatever a backend answers
        st.error(f"This view failed: {type(err).__name__}: {redact(str(err))}")


def page(render: Render, settings: Settings) -> Callable[[], None]:
    """A zero-argument page function for `st.Page`, guarded."""

    def run() -> None:
        guarded(render, settings)

    run.__name__ = render.__module__.rsplit(".", 1)[-1]
    return run


def status_sidebar(settings: Settings) -> None:
    """Each backend, up or down, with the command that starts the ones that are down."""
    with st.sidebar:
        st.subheader("Backends")
        for status in backend_statuses(settings):
            mark = ":green[:material/check_circle:]" if status.up else ":red[:material/error:]"
            st.markdown(f"{mark} **{status.backend}**  \n`{status.where}`")
            if status.detail:
                st.caption(status.detail)
            if not status.up:
                st.caption(status.hint)


def incident_banner(settings: Settings, link: Any = None) -> None:
    """While an escalation incident is active, one line at the top of every signed-in page (its
    tickets jump the queue, so every agent should know why), linking to `link` (the Monitoring
    page). One store query per run; nothing at all when the store is missing, down or quiet."""
    now = datetime.now(UTC)
    incidents = active_incidents(settings, now)
    if not incidents:
        return
    text = incident_banner_text(incidents, now, incident_raise_levels(settings))
    if text is None:
        return
    banner, more = st.columns([6, 1], vertical_alignment="center")
    banner.warning(escape_markdown(text), icon=":material/campaign:")
    if link is not None:
        more.page_link(link, label="Monitoring", icon=":material/arrow_forward:")
