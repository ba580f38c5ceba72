"""Label queue: agents label the customer tweets the models are least sure of.

One tweet at a time, most useful first (`tweetcare.ui.data.label_queue`): a category, a sentiment
and whether it needs a ticket, each a button with a keyboard shortcut (Streamlit's own
`st.button(shortcut=...)`), the models' answers chosen to begin with. Save writes the label to
the ticket store's corrections with its audit entry (`tweetcare.tickets.labels`), Skip passes the
tweet over for this session; `tweetcare data labels export` hands the labels to training.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from tweetcare.core.errors import UserError
from tweetcare.core.params import AnalysisParams, load_params
from tweetcare.core.schemas import CATEGORIES, SENTIMENTS
from tweetcare.core.settings import Settings
from tweetcare.tickets.labels import TweetLabel
from tweetcare.ui import backends, workflow
from tweetcare.ui.auth import current_agent
from tweetcare.ui.data import LAKE_COLUMNS, SHADOW_COLUMNS, label_queue
from tweetcare.ui.safe import literal_columns

FLASH_KEY = "label_queue_flash"
SKIPPED_KEY = "label_queue_skipped"
# (value, button label, keyboard shortcut): 1-9 the categories in order, A/S/D the sentiments
# (left to right, as their buttons), Y/N a ticket or not; Enter saves, Esc skips (Streamlit
# reserves C and R)
Choice = tuple[Any, str, str | None]
CATEGORY_CHOICES: tuple[Choice, ...] = tuple(
    (c, c, str(n) if n <= 9 else None) for n, c in enumerate(CATEGORIES, start=1)
)
SENTIMENT_CHOICES: tuple[Choice, ...] = tuple(
    (s, s, key) for s, key in zip(SENTIMENTS, ("A", "S", "D"), strict=True)
)
TICKET_CHOICES: tuple[Choice, ...] = ((True, "Needs a ticket", "Y"), (False, "No ticket", "N"))
SAVE_KEY, SKIP_KEY = "Enter", "Esc"
RECENT = 10


def render(settings: Settings) -> None:
    st.title("Label queue")
    st.caption(
        "Customer tweets the models are least sure of, or where the challenger disagrees with "
        "the champion; your labels train the next models (`tweetcare data labels export`). "
        "Keys: 1–9 category · A/S/D negative/neutral/positive · Y/N ticket · Enter save · "
        "Esc skip."
    )
    # always there, message or not, so the buttons below keep their place from run to run
    notice = st.empty()
    if FLASH_KEY in st.session_state:
        notice.success(st.session_state.pop(FLASH_KEY))
    agent = current_agent()
    if agent is None:
        return
    skipped: set[str] = st.session_state.setdefault(SKIPPED_KEY, set())
    tweets = backends.read_lake(settings, list(LAKE_COLUMNS), optional=list(SHADOW_COLUMNS))
    queue = label_queue(tweets, workflow.labelled(settings) | skipped, _boundaries())
    if queue.empty:
        st.info(
            "Nothing to label: every customer tweet in the lake is labelled"
            + (f" or skipped ({len(skipped)} this session)." if skipped else ".")
        )
        if skipped and st.button("Offer the skipped tweets again"):
            skipped.clear()
            st.rerun()
    else:
        st.caption(f"{len(queue)} tweets to label")
        label_one(settings, queue.iloc[0].to_dict(), agent.username)
    show_recent(settings)


def label_one(settings: Settings, tweet: dict[str, Any], agent: str) -> None:
    """The tweet, the choice buttons, Save and Skip."""
    tweet_id = str(tweet["tweet_id"])
    with st.container(border=True):
        st.text(str(tweet["text"]))  # outside text: verbatim, never Markdown
        st.caption(f"tweet {tweet_id} · conversation {tweet['conversation_id']}")
        st.caption(f"offered because {tweet['reason']}")
    chosen = st.session_state.setdefault(f"label_choice_{tweet_id}", _model_answers(tweet))
    choose("Category", "category", tweet_id, chosen, CATEGORY_CHOICES)
    choose("Sentiment", "sentiment", tweet_id, chosen, SENTIMENT_CHOICES)
    choose("Ticket", "needs_ticket", tweet_id, chosen, TICKET_CHOICES)
    actions = st.container(horizontal=True)
    complete = all(chosen.get(k) is not None for k in ("category", "sentiment", "needs_ticket"))
    save = actions.button(
        "Save label",
        key=f"label_save_{tweet_id}",
        type="primary",
        shortcut=SAVE_KEY,
        disabled=not complete,
    )
    skip = actions.button("Skip", key=f"label_skip_{tweet_id}", shortcut=SKIP_KEY)
    if skip:
        st.session_state[SKIPPED_KEY].add(tweet_id)
        st.rerun()
    if save:
        answer = TweetLabel(chosen["category"], chosen["sentiment"], chosen["needs_ticket"])
        try:
            workflow.label(settings, tweet, answer, agent)
            message = f"Tweet {tweet_id} labelled by {agent}: {answer.describe()}."
        except UserError as err:  # a colleague labelled it a moment ago
            message = f"Not saved: {err}."
        st.session_state[FLASH_KEY] = message
        st.session_state.pop(f"label_choice_{tweet_id}", None)
        st.rerun()


def choose(
    title: str,
    field: str,
    tweet_id: str,
    chosen: dict[str, Any],
    options: tuple[Choice, ...],
) -> None:
    """One row of buttons (value, label, shortcut); the chosen one is highlighted."""
    row = st.container(horizontal=True, vertical_alignment="center")
    row.markdown(f"**{title}**")
    for value, label, key in options:
        row.button(
            label,
            key=f"label_{field}_{value}_{tweet_id}",
            type="primary" if chosen.get(field) == value else "secondary",
            shortcut=key,
            on_click=chosen.__setitem__,
            args=(field, value),
        )


def show_recent(settings: Settings) -> None:
    """Who labelled what lately, from the audit trail."""
    entries = workflow.recent_labels(settings, RECENT)
    if not entries:
        return
    st.markdown("**Latest labels**")
    table = pd.DataFrame(
        {
            "when (UTC)": [e.at.strftime("%Y-%m-%d %H:%M:%S") for e in entries],
            "agent": [e.actor for e in entries],
            "tweet": [e.target_id for e in entries],
            "label": [e.detail for e in entries],
        }
    )
    st.table(literal_columns(table, ["agent"]), hide_index=True)


def _model_answers(tweet: dict[str, Any]) -> dict[str, Any]:
    """What the models said, as the starting choice (None where they said nothing usable)."""
    needs = tweet.get("needs_ticket")
    return {
        "category": tweet.get("category") if tweet.get("category") in CATEGORIES else None,
        "sentiment": tweet.get("sentiment") if tweet.get("sentiment") in SENTIMENTS else None,
        "needs_ticket": None if needs is None or pd.isna(needs) else bool(needs),
    }


def _boundaries() -> tuple[float, float]:
    """Sentiment class boundaries: +-params.yaml's analysis.vader_threshold (its default
    without a params.yaml)."""
    try:
        threshold = load_params().analysis.vader_threshold
    except UserError:
        threshold = AnalysisParams().vader_threshold
    return -threshold, threshold
