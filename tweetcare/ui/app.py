"""The agent console: `tweetcare ui`, or `streamlit run tweetcare/ui/app.py`.

Configured by the same `TWEETCARE_*` settings as the rest (model server URL, ticket store URL,
lake folder, MLflow URI); every page says which backend is down and how to start it. Only a
signed-in agent (`tweetcare users add`) sees more than the sign-in form.
"""

from __future__ import annotations

import threading

import streamlit as st
from pydantic import ValidationError

from tweetcare.core.errors import describe_validation
from tweetcare.core.settings import get_settings
from tweetcare.ui import label_queue, live, models, monitoring, queues, try_tweet
from tweetcare.ui.auth import current_agent, sign_in
from tweetcare.ui.components import incident_banner, page, status_sidebar

PAGES = (
    (try_tweet.render, "Try a tweet", "try", ":material/edit_note:"),
    (queues.render, "Queues", "queues", ":material/inbox:"),
    (label_queue.render, "Label queue", "labels", ":material/label:"),
    (live.render, "Live", "live", ":material/monitoring:"),
    (models.render, "Models", "models", ":material/model_training:"),
    (monitoring.render, "Monitoring", "monitoring", ":material/query_stats:"),
)


_IMPORTING = threading.Lock()


def import_mlflow_once() -> None:
    """Import MLflow fully before any page can import a piece of it.

    Each browser session runs this script in its own thread. Two threads importing MLflow's
    modules lazily at once, from different entry points, can each hold half of its circular
    imports, and one then fails with "cannot import name ... from partially initialized module
    'mlflow.tracking'" (seen on the Models page while the Live page refreshed). One import, in
    one thread at a time, at the top of every run: only the first run pays for it.
    """
    with _IMPORTING:
        import mlflow.tracking  # noqa: F401


def main() -> None:
    import_mlflow_once()
    st.set_page_config(
        page_title="tweetcare console", page_icon=":material/support_agent:", layout="wide"
    )
    try:
        settings = get_settings()
    except ValidationError as err:
        st.error(f"A TWEETCARE_* setting is invalid: {describe_validation(err, 'settings')}")
        st.stop()
    pages = [
        st.Page(page(render, settings), title=title, url_path=path, icon=icon, default=i == 0)
        for i, (render, title, path, icon) in enumerate(PAGES)
    ]
    # the page is resolved from the URL first, so an agent who signs in on /queues stays there;
    # the menu shows only to an agent who was signed in when this run began
    was_signed_in = current_agent() is not None
    current = st.navigation(pages, position="sidebar" if was_signed_in else "hidden")
    if sign_in(settings) is None:
        st.stop()
    if not was_signed_in:
        st.rerun()  # signed in just now: draw the page with its menu
    status_sidebar(settings)
    by_path = {path: p for p, (_, _, path, _) in zip(pages, PAGES, strict=True)}
    incident_banner(settings, link=by_path["monitoring"])
    current.run()


if __name__ == "__main__":
    main()
