"""Agent sign-in for the console (streamlit-authenticator) and who is signed in now.

Nothing but the sign-in form is shown until an agent signs in; with no agents configured the
console says how to add one. Failed sign-ins are throttled per agent (`tweetcare.ui.throttle`).
The signed-in agent's user name is what the audit trail records; their role says what they may
do (`tweetcare.ui.roles`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import streamlit as st

from tweetcare.core.settings import Settings
from tweetcare.ui import throttle
from tweetcare.ui.roles import role_of
from tweetcare.ui.users import read_users, update_user, usernames

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


LOCKED_OUT = (
    "Too many failed sign-ins for this name: it is locked for {minutes} minutes after the last "
    "one (a new password from `tweetcare users add` lifts it)."
)


@dataclass(frozen=True)
class Agent:
    username: str
    name: str
    role: str


def current_agent() -> Agent | None:
    """The agent signed in to this browser session, or None."""
    if not st.session_state.get(STATUS_KEY) or not st.session_state.get("username"):
        return None
    username = str(st.session_state["username"])
    role = role_of({"roles": st.session_state.get("roles")})
    return Agent(username, str(st.session_state.get("name") or username), role)


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
    limits = throttle.SignInLimits.of(settings)
    people = config["credentials"]["usernames"]
    locked = throttle.arm_library(people, datetime.now(UTC), limits)
    authenticator = stauth.Authenticate(
        config["credentials"],
        cookie.get("name", "tweetcare_console"),
        cookie["key"],
        float(cookie.get("expiry_days", 1.0)),
        auto_hash=False,
    )
    try:
        authenticator.login(
            location="main",
            fields=LOGIN_FIELDS,
            key="agent-sign-in",
            max_login_attempts=limits.max_failures,
        )
    except stauth.LoginError:
        st.error(LOCKED_OUT.format(minutes=round(limits.lockout.total_seconds() / 60)))
        return None
    _record_sign_in(settings, people, locked, limits)
    status = st.session_state.get(STATUS_KEY)
    if status is False:
        st.error("Wrong user name or password.")
    agent = current_agent()
    if agent is not None:
        with st.sidebar:
            st.text(f"Signed in as {agent.name} ({agent.username})")
            authenticator.logout("Sign out", "sidebar", key="agent-sign-out")
    return current_agent()


def _record_sign_in(
    settings: Settings,
    people: dict[str, dict[str, object]],
    locked: set[str],
    limits: throttle.SignInLimits,
) -> None:
    """Keep what this run's sign-in attempt did in the users file: a failure counts towards a
    lockout, a success clears the count."""
    now = datetime.now(UTC)
    for name in throttle.failed_now(people, locked):
        update_user(
            settings.console_users_file,
            name,
            lambda entry: throttle.record_failure(entry, now, limits),
        )
    signed_in = st.session_state.get("username")
    entry = people.get(str(signed_in)) if st.session_state.get(STATUS_KEY) else None
    if entry is not None and entry.get(throttle.FAILED):
        update_user(settings.console_users_file, str(signed_in), throttle.clear)
