"""Try a tweet: the live analysis of one text by the running model server."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from tweetcare.core.settings import Settings
from tweetcare.ui import backends, workflow
from tweetcare.ui.data import (
    AnalysisView,
    analysis_view,
    format_duration,
    highlight_entities,
    ticket_decision,
)

EXAMPLE = "@AmazonHelp my order 112-3344556 never arrived and nobody answers at 555-0142!!"
RESULT_KEY = "try_tweet_result"


def render(settings: Settings) -> None:
    st.title("Try a tweet")
    st.caption(f"Analysed live by the model server at `{settings.bento_url}`.")
    with st.form("try_tweet"):
        text = st.text_area("Tweet", placeholder=EXAMPLE, height=110)
        submitted = st.form_submit_button("Analyze", type="primary")
    if submitted:
        answer = backends.analyze(settings, text)
        st.session_state[RESULT_KEY] = analysis_view(
            text, answer.body, answer.endpoint, answer.note
        )
    view = st.session_state.get(RESULT_KEY)
    if view is not None:
        show_analysis(settings, view)


def show_analysis(settings: Settings, view: AnalysisView) -> None:
    analysis = view.analysis
    direction, sentiment, category = st.columns(3)
    direction.metric(
        "Inbound / outbound",
        view.label,
        f"{view.confidence:.1%} confidence",
        delta_color="off",
        delta_arrow="off",
    )
    if view.complete:
        score = analysis.sentiment_score
        sentiment.metric(
            "Sentiment",
            analysis.sentiment or "—",
            None if score is None else f"score {score:+.2f}",
            delta_color="off",
            delta_arrow="off",
        )
        confidence = analysis.category_confidence
        category.metric(
            "Category",
            analysis.category or "—",
            None if confidence is None else f"{confidence:.1%} confidence",
            delta_color="off",
            delta_arrow="off",
        )
    else:
        why = f" ({view.note})" if view.note else ""
        sentiment.info(
            f"Only `/classify` answered{why}: sentiment, category and entities appear once the "
            "server has the analysis models (`dvc repro`, then restart it with "
            "`tweetcare serve stop` and `tweetcare serve start`)."
        )
    st.subheader("Entities")
    if view.complete:
        st.markdown(highlight_entities(view.text, analysis.entities), unsafe_allow_html=True)
        details = [f"language `{analysis.language or '?'}`"]
        if analysis.flags:
            details.append("flags " + ", ".join(f"`{f}`" for f in analysis.flags))
        st.caption(" · ".join(details))
    else:
        st.caption("not available from `/classify`")
    st.subheader("Ticket")
    st.markdown(ticket_decision(view))
    ticket = workflow.preview(settings, analysis, view.text)
    if ticket is not None:
        st.markdown(
            f"Team **{ticket.team}** · priority **{ticket.priority}** · "
            f"first answer due within **{format_duration(ticket.sla_minutes * 60)}**"
        )
        st.markdown("**Drafted reply**")
        st.container(border=True).text(ticket.reply)
        if ticket.reasons:
            st.caption("Held for an agent: " + "; ".join(ticket.reasons))
        else:
            st.caption("The safety gate would send it automatically.")
    if analysis.models:
        st.subheader("Models")
        st.table(
            pd.DataFrame(
                {"model": list(analysis.models), "version (run)": list(analysis.models.values())}
            ),
            hide_index=True,
        )
