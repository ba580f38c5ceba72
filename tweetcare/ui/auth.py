"""Agent sign-in for the console (streamlit-authenticator) and who is signed in now.

Nothing but the sign-in form is shown until an agent signs in; with no agents configured the
console says how to add one. The signed-in agent's user name is what the audit trail records.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from tweetcare.core.settings import Settings
from tweetcare.ui.users import read_users, usernames

STATUS_KEY = "authentication_status"
NO_USERS = (
    "No agent can sign in yet. Add one with `tweetcare users add NAME`, "
    "then reload this page (agents are kept in `{path}`)."
)
LOGIN_FIELDS = {
    "Form name": "Agent sign-in",
    "Username": "Username",
    "Password": "Password",
    "Login": "Sign in",
}


@dataclass(frozen=True)
class Agent:
    username: str
    name: str


def current_agent() -> Agent | None:
    """The agent signed in to this browser session, or None."""
    if not st.session_state.get(STATUS_KEY) or not st.session_state.get("username"):
        return None
    username = str(st.session_state["username"])
    return Agent(username, str(st.session_state.get("name") or username))


def sign_in(settings: Settings) -> Agent | None:
    """The sign-in form until an agent is signed in; then their name and a sign-out button."""
    import streamlit_authenticator as stauth

    config = read_users(settings.console_users_file)
    if not usernames(config):
        st.warning(NO_USERS.format(path=settings.console_users_file), icon=":material/lock:")
        return None
    cookie = config["cookie"]
    if not cookie.get("key"):
        st.error(
            f"`{settings.console_users_file}` has no cookie key; add an agent with "
            "`tweetcare users add NAME` to create one."
        )
        return None
    authenticator = stauth.Authenticate(
        config["credentials"],
        cookie.get("name", "tweetcare_console"),
        cookie["key"],
        float(cookie.get("expiry_days", 1.0)),
        auto_hash=False,
    )
    authenticator.login(location="main", fields=LOGIN_FIELDS, key="agent-sign-in")
    status = st.session_state.get(STATUS_KEY)
    if status is False:
        st.error("Wrong user name or password.")
    agent = current_agent()
    if agent is not None:
        with st.sidebar:
            st.text(f"Signed in as {agent.name} ({agent.username})")
            authenticator.logout("Sign out", "sidebar", key="agent-sign-out")
    return current_agent()
