"""Models: the latest training run's comparison and why the champion is the champion."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from tweetcare.core.contract import SHADOW_KEY
from tweetcare.core.redact import redact_url
from tweetcare.core.settings import Settings
from tweetcare.ui import backends
from tweetcare.ui.data import VersionRecord, champion_explanation, comparison_frame

QUALITY = ["accuracy", "f1"]
LATENCY = ["latency_ms_b1", "latency_ms_b256"]


def render(settings: Settings) -> None:
    st.title("Models")
    st.caption(f"From MLflow at `{redact_url(settings.mlflow_tracking_uri)}`.")
    snapshot = backends.read_models(settings)
    show_champion(settings, snapshot)
    frame = comparison_frame(snapshot.runs)
    run = snapshot.parent
    st.subheader("Latest comparison")
    if run is not None:
        st.caption(
            f"training run `{run.name}` ({run.run_id}): {len(frame)} model(s), on the test split"
        )
        winner = run.tags.get(backends.WINNER_TAG)
        if winner:
            tolerance = run.params.get("f1_tie_tolerance")
            ties = f", ties within {tolerance} broken by latency at batch 256" if tolerance else ""
            st.markdown(f"The comparison picked **{winner}** (best validation F1{ties}).")
    if frame.empty:
        st.info(f"The latest run logged no models: {backends.FILL_MLFLOW}.")
        return
    table = frame.set_index("model")
    quality, speed = st.columns(2)
    quality.markdown("**Accuracy and F1** (higher is better)")
    quality.bar_chart(table[QUALITY].dropna(how="all"), stack=False, horizontal=True)
    speed.markdown("**Latency, ms per tweet** at batch 1 and 256 (lower is better)")
    speed.bar_chart(table[LATENCY].dropna(how="all"), stack=False, horizontal=True)
    st.table(frame.dropna(axis=1, how="all").round(4).fillna("—"), hide_index=True)


def show_champion(settings: Settings, snapshot: backends.ModelsSnapshot) -> None:
    st.subheader("Champion")
    alias = settings.model_alias
    why = champion_explanation(snapshot.versions, alias, backends.DECISION_TAG, backends.REASON_TAG)
    if why is None:
        st.warning(f"No version of `{settings.inbound_model}` is @{alias}: {backends.FILL_MLFLOW}.")
    else:
        st.markdown(f"`{settings.inbound_model}` {why}")
    show_served(settings, why)
    show_shadow(settings)
    if snapshot.versions:
        st.markdown(f"**Versions of `{settings.inbound_model}`**")
        st.table(versions_table(snapshot.versions), hide_index=True)
    if snapshot.analysis:
        st.markdown("**Analysis models** behind `/analyze`")
        st.table(analysis_table(snapshot.analysis), hide_index=True)


def show_served(settings: Settings, why: str | None) -> None:
    """Which version the running server loaded, and whether a restart would change it."""
    try:
        served = backends.model_info(settings)
    except backends.BackendDown as err:
        st.caption(f"{err.backend} is not running ({err.hint}).")
        return
    version = served.get("version")
    stale = why is not None and f"version {version} " not in why
    restart = " A newer champion exists: restart it (`tweetcare serve stop`, then `start`)."
    shadow = served.get(SHADOW_KEY) or {}
    beside = f", and v{shadow['version']} (@{shadow.get('alias')}) in shadow" if shadow else ""
    st.caption(
        f"The model server serves v{version} (@{served.get('alias')}){beside}."
        + (restart if stale else "")
    )


def show_shadow(settings: Settings) -> None:
    """The challenger's live record: both models' answers on the same lake tweets."""
    st.subheader("Shadow scoring")
    report = backends.shadow_record(settings)
    pairs, verdict = report.pairs, report.verdict
    if not pairs:
        st.info(
            f"No shadow-scored tweets in the lake yet: the server scores every tweet with "
            f"`{settings.inbound_model}@{settings.shadow_alias or 'challenger'}` too when one exists."
        )
        return
    st.caption(
        "Champion and challenger answer the same live tweets; only the champion's answer opens "
        "tickets. A tweet's label is its source inbound flag, or an agent's correction."
    )
    table = pd.DataFrame([p.to_dict() for p in pairs]).rename(columns=SHADOW_COLUMNS)
    st.table(table[list(SHADOW_COLUMNS.values())].round(4).fillna("—"), hide_index=True)
    if verdict is not None:
        promote, reason = verdict
        (st.success if promote else st.info)(
            (
                "`tweetcare models promote` would promote it: "
                if promote
                else "It stays challenger: "
            )
            + reason
        )


SHADOW_COLUMNS = {
    "champion_version": "champion v",
    "challenger_version": "challenger v",
    "tweets": "tweets",
    "agreement": "agreement",
    "labelled": "labelled",
    "human_labelled": "by agents",
    "champion_f1": "champion F1",
    "challenger_f1": "challenger F1",
    "champion_right_only": "only champion right",
    "challenger_right_only": "only challenger right",
}


def versions_table(versions: list[VersionRecord]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "version": v.version,
                "aliases": ", ".join(f"@{a}" for a in v.aliases) or "—",
                "gate decision": v.tags.get(backends.DECISION_TAG, "—"),
                "reason": v.tags.get(backends.REASON_TAG, "—"),
                "run": v.run_id,
            }
            for v in versions
        ]
    )


def analysis_table(analysis: dict[str, VersionRecord | None]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "model": name,
                "version": f"{v.version} (@{', @'.join(v.aliases)})" if v else "not registered",
                "run": v.run_id if v else "`dvc repro train_analysis` registers it",
            }
            for name, v in analysis.items()
        ]
    )
