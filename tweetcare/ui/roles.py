"""Who may do what in the console: an agent works the queues, a lead also resolves the outbox's
problems (replies X refused, or whose posting is unclear: deciding one says whether it is on
X), an admin may do all a lead may. Kept free of Streamlit so `tweetcare users` can check names.
"""

from __future__ import annotations

from tweetcare.core.errors import UsageError

AGENT = "agent"
LEAD = "lead"
ADMIN = "admin"
# least to most trusted: each role may do what the ones before it may
ROLES: tuple[str, ...] = (AGENT, LEAD, ADMIN)
DEFAULT_ROLE = AGENT

# console actions, and the least role each needs
DECIDE = "decide"  # approve or reject a reply the safety gate held
EDIT = "edit"
CLOSE = "close"
RESOLVE = "resolve"  # decide a reply X refused or whose posting is unclear
NEEDS: dict[str, str] = {DECIDE: AGENT, EDIT: AGENT, CLOSE: AGENT, RESOLVE: LEAD}


def allowed(role: str, action: str) -> bool:
    """Whether `role` may take `action`; an unknown role may take none."""
    if role not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(NEEDS[action])


def role_of(entry: dict[str, object]) -> str:
    """An agent's role in the users file (streamlit-authenticator's `roles` list); agents added
    before roles existed are agents."""
    roles = entry.get("roles") or [DEFAULT_ROLE]
    known = (
        [r for r in roles if isinstance(r, str) and r in ROLES] if isinstance(roles, list) else []
    )
    return max(known, key=ROLES.index) if known else DEFAULT_ROLE


def check_role(role: str) -> str:
    """A role name as typed; a clear error naming the roles there are."""
    name = role.strip().lower()
    if name not in ROLES:
        raise UsageError(f"unknown role {role!r}; one of: {', '.join(ROLES)}")
    return name
