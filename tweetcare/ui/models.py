"""Models: the latest training run's comparison and why the champion is the champion."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from tweetcare.core.models import model_contract
from tweetcare.core.settings import Settings
from tweetcare.ui import backends
from tweetcare.ui.data import VersionRecord, champion_explanation, comparison_frame

QUALITY = ["accuracy", "f1"]
LATENCY = ["latency_ms_b1", "latency_ms_b256"]


def render(settings: Settings) -> None:
    st.title("Models")
    st.caption(f"From MLflow at `{settings.mlflow_tracking_uri}`.")
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
    alias, name = model_contract().inbound.alias, model_contract().inbound.name
    why = champion_explanation(snapshot.versions, alias, backends.DECISION_TAG, backends.REASON_TAG)
    if why is None:
        st.warning(f"No version of `{name}` is @{alias}: {backends.FILL_MLFLOW}.")
    else:
        st.markdown(f"`{name}` {why}")
    show_served(settings, why)
    if snapshot.versions:
        st.markdown(f"**Versions of `{name}`**")
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
    st.caption(
        f"The model server serves v{version} (@{served.get('alias')})." + (restart if stale else "")
    )


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
