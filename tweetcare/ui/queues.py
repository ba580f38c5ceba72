"""Queues: open tickets per team, most urgent first, with filters, a detail view and approvals.

An agent's buttons act in their callbacks, with the version of the ticket or reply drawn on the
page the agent clicked (not the one the rerun reads): a change made meanwhile is refused with a
message to reload, never overwritten.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st

from tweetcare.core.errors import UserError
from tweetcare.core.schemas import CATEGORIES, SENTIMENTS
from tweetcare.core.settings import Settings
from tweetcare.tickets.corrections import Changes
from tweetcare.tickets.models import DECIDABLE, DRAFTED, EDITABLE, REFUSED, UNCLEAR
from tweetcare.ui import backends, roles, workflow
from tweetcare.ui.auth import Agent, current_agent
from tweetcare.ui.config import CONFIG
from tweetcare.ui.data import (
    FILTER_COLUMNS,
    filter_options,
    filter_queue,
    format_duration,
    opened_time,
    parse_time,
    queue_frame,
    queue_table,
    queues_by_team,
    sla_text,
    ticket_label,
)
from tweetcare.ui.safe import escape_markdown, literal_columns

DEFAULT_STATUS = "open"
FLASH_KEY = "queues_flash"
# why an agent's last action was refused (a colleague changed the row, bad text), shown once
REFUSED_KEY = "queues_refused"
PENDING_MARK = "awaiting approval"
# `/queues?ticket=10482` (or `#10482`, `TC-…`) opens that ticket: links from alerts, audit
# entries, colleagues
TICKET_PARAM = "ticket"
# the search box: a ticket's number or the start of its id
FIND_KEY = "find_ticket"
# queue columns that come from tweets (the rest are the ticket rules' own words)
OUTSIDE_TEXT = ["brand", "text"]


def render(settings: Settings) -> None:
    st.title("Queues")
    if FLASH_KEY in st.session_state:
        st.success(st.session_state.pop(FLASH_KEY))
    if REFUSED_KEY in st.session_state:
        st.error(st.session_state.pop(REFUSED_KEY))
    tickets = backends.read_tickets(settings)
    if not tickets:
        st.info(f"The ticket store has no tickets yet: {backends.FILL_TICKET_STORE}.")
        return
    now = datetime.now(UTC)
    frame = queue_frame(tickets, now, workflow.priority_levels(settings))
    pending = workflow.pending_ticket_ids(settings)
    frame["reply"] = frame["ticket_id"].map(lambda t: PENDING_MARK if t in pending else "")
    shown = filter_queue(frame, filters(frame))
    if st.toggle(f"Only replies awaiting approval ({len(pending)})", key="only_pending"):
        shown = shown[shown["reply"] == PENDING_MARK]
    st.caption(f"{len(shown)} of {len(frame)} tickets · as of {now:%H:%M:%S} UTC")
    by_id = {t["ticket_id"]: t for t in tickets}
    linked = find_linked(settings, by_id)
    for team, rows in queues_by_team(shown):
        st.subheader(f"{team} · {len(rows)}")
        table = queue_table(rows, CONFIG.rows_per_queue, extra=["reply"])
        st.table(literal_columns(table, OUTSIDE_TEXT), hide_index=True)
        if len(rows) > CONFIG.rows_per_queue:
            st.caption(f"… and {len(rows) - CONFIG.rows_per_queue} more in this queue")
    if shown.empty and linked is None:
        return
    st.divider()
    labels = {
        row.ticket_id: f"{row.ticket} · {row.brand or '—'} · {row.priority or '—'} · {row.sla}"
        for row in shown.itertuples()
    }
    # a link or a search opens its ticket whatever the filters; the page never writes the link
    # itself, or the last ticket looked at would stay chosen when the filters change
    if linked is not None and linked not in labels:
        labels = {linked: f"{ticket_label(by_id[linked])} (found)", **labels}
    options = list(labels)
    chosen = st.selectbox(
        "Open a ticket",
        options,
        index=options.index(linked) if linked in labels else 0,
        format_func=labels.__getitem__,
    )
    if chosen:
        show_ticket(settings, by_id[chosen], now)


def find_linked(settings: Settings, by_id: dict[str, dict[str, Any]]) -> str | None:
    """The id of the ticket the search box or a link (`?ticket=`) names, by its number
    (`#10482`, `10482`) or a unique prefix of its id, added to `by_id` when the queue's read
    left it out; None when nothing is asked or found (an agent is told why)."""
    asked = st.text_input(
        "Find a ticket", key=FIND_KEY, placeholder="#10482, 10482 or the start of its id"
    ).strip() or st.query_params.get(TICKET_PARAM)
    if not asked:
        return None
    try:
        found = workflow.find_ticket(settings, asked)
    except UserError as err:
        st.warning(escape_markdown(str(err)))
        return None
    if found is None:
        st.warning(f"No ticket {escape_markdown(asked)} in the ticket store.")
        return None
    by_id.setdefault(found["ticket_id"], found)
    return str(found["ticket_id"])


def filters(frame: pd.DataFrame) -> dict[str, list[str]]:
    """One multiselect per filter that has values; status starts on `open`."""
    options = filter_options(frame)
    selected: dict[str, list[str]] = {}
    for column, name in zip(st.columns(len(FILTER_COLUMNS)), FILTER_COLUMNS, strict=True):
        values = options[name]
        default = [DEFAULT_STATUS] if name == "status" and DEFAULT_STATUS in values else []
        selected[name] = column.multiselect(
            name.capitalize(),
            values,
            default=default,
            key=f"filter_{name}",
            placeholder="all" if values else "no values",
            disabled=not values,
        )
    return selected


def show_ticket(settings: Settings, ticket: dict[str, Any], now: datetime) -> None:
    ticket_id = ticket["ticket_id"]
    st.subheader(f"Ticket {ticket_label(ticket)}")
    st.caption(f"id {ticket_id}")
    created = opened_time(ticket)
    due = parse_time(ticket.get("sla_due_at"))
    facts = {
        "brand": ticket.get("brand"),
        "team": ticket.get("team"),
        "status": ticket.get("status"),
        "priority": ticket.get("priority"),
        "category": _with_score(ticket.get("category"), ticket.get("category_confidence"), "%"),
        "sentiment": _with_score(ticket.get("sentiment"), ticket.get("sentiment_score"), "+"),
        "age": format_duration((now - created).total_seconds()) if created else None,
        "SLA": sla_text((due - now).total_seconds()) if due else None,
    }
    st.markdown(
        " · ".join(
            f"{name}: **{escape_markdown(value)}**" for name, value in facts.items() if value
        )
    )
    thread, entities, lineage = st.columns([3, 2, 2])
    with thread:
        st.markdown("**Conversation**")
        show_thread(settings, ticket)
    with entities:
        st.markdown("**Entities**")
        found = ticket.get("entities") or []
        if found:
            entities = pd.DataFrame(found).reindex(columns=["label", "text"])
            st.table(literal_columns(entities, ["text"]), hide_index=True)
        else:
            st.caption("none recorded")
    with lineage:
        st.markdown("**Models that scored it**")
        models = dict(ticket.get("models") or {})
        if ticket.get("model_name"):  # tickets from before the analysis models
            models[ticket["model_name"]] = str(ticket.get("model_version"))
        if models:
            st.table(
                pd.DataFrame({"model": list(models), "version (run)": list(models.values())}),
                hide_index=True,
            )
        else:
            st.caption("none recorded")
        if ticket.get("data_version"):
            st.caption(f"data version `{ticket['data_version']}`")
    show_reply(settings, ticket_id)
    show_close(settings, ticket)
    show_correction(settings, ticket)
    show_audit(settings, ticket_id)


def show_thread(settings: Settings, ticket: dict[str, Any]) -> None:
    """The conversation from the lake; the ticket's own text when the lake has none of it."""
    try:
        thread = backends.read_thread(settings, ticket["conversation_id"])
    except backends.BackendDown as err:
        thread = pd.DataFrame()
        st.caption(f"{err.backend}: {err.detail} ({err.hint}); showing the ticket's text")
    if thread.empty:
        with st.chat_message("user"):
            st.text(ticket.get("text") or "")
        return
    for tweet in thread.itertuples():
        with st.chat_message("user" if tweet.inbound else "assistant"):
            when = parse_time(tweet.created_at)
            # outside text: shown verbatim, never as Markdown
            st.text(
                f"@{tweet.author_id} · {when:%Y-%m-%d %H:%M} UTC" if when else f"@{tweet.author_id}"
            )
            st.text(tweet.text)


def show_reply(settings: Settings, ticket_id: str) -> None:
    st.markdown("**Drafted reply**")
    reply = workflow.reply_of(settings, ticket_id)
    if reply is None:
        st.caption("no reply drafted for this ticket")
        return
    st.container(border=True).text(reply["text"])
    decision, state = reply["decision"], reply["state"]
    reasons = reply.get("gate_reasons") or []
    st.caption(
        f"decision: **{decision}** · {state}"
        + (f" · held because {'; '.join(reasons)}" if reasons and state == DRAFTED else "")
    )
    if state == REFUSED:
        st.warning(f"X refused this reply: {reply.get('refusal') or 'no reason given'}")
    elif state == UNCLEAR:
        st.warning("A post run stopped while posting it: check X, then approve or reject it.")
    agent = current_agent()
    if state not in DECIDABLE or agent is None:
        return
    needs = roles.DECIDE if state == DRAFTED else roles.RESOLVE
    if not roles.allowed(agent.role, needs):
        st.caption(f"a {roles.NEEDS[needs]} decides a reply in this state")
        return
    reply_id, version = reply["reply_id"], reply["version"]
    edit_key = f"edit_{ticket_id}"
    if state in EDITABLE:
        edited = st.text_area("Edit the reply", reply["text"], key=edit_key)
    approve, reject, save, _ = st.columns([1, 1, 1, 3])
    if state in EDITABLE:
        save.button(
            "Save edit",
            key=f"save_{ticket_id}",
            disabled=edited == reply["text"],
            on_click=_act,
            args=(lambda: _edited(settings, reply_id, st.session_state[edit_key], agent, version),),
        )
    for column, label, verdict in (
        (approve, "Approve reply", True),
        (reject, "Reject reply", False),
    ):
        column.button(
            label,
            key=f"{label}_{ticket_id}",
            type="primary" if verdict else "secondary",
            on_click=_act,
            args=(lambda v=verdict: _decided(settings, reply_id, v, agent.username, version),),
        )


def _edited(settings: Settings, reply_id: str, text: str, agent: Agent, version: int) -> str:
    workflow.edit_reply(settings, reply_id, text, agent.username, version)
    return f"Reply {reply_id} edited by {agent.username}."


def _decided(settings: Settings, reply_id: str, verdict: bool, agent: str, version: int) -> str:
    decided = workflow.decide(settings, reply_id, verdict, agent, version)
    note = f"; {decided.note}" if decided.note else ""
    return f"Reply {decided.reply['reply_id']} {decided.reply['decision']}{note}."


def _act(action: Callable[[], str]) -> None:
    """A button's callback: the action's outcome, or why it was refused, shows on the rerun
    (a callback's error would otherwise escape the page's guard)."""
    try:
        st.session_state[FLASH_KEY] = action()
    except UserError as err:
        st.session_state[REFUSED_KEY] = str(err)
    except backends.BackendDown as err:
        st.session_state[REFUSED_KEY] = f"{err.backend}: {err.detail} ({err.hint})"


def show_close(settings: Settings, ticket: dict[str, Any]) -> None:
    agent = current_agent()
    if agent is None or ticket.get("status") == "closed":
        return
    if not roles.allowed(agent.role, roles.CLOSE):
        return
    ticket_id, version = ticket["ticket_id"], ticket.get("version")

    def close() -> str:
        closed = workflow.close_ticket(settings, ticket_id, agent.username, version)
        return f"Ticket {ticket_label(closed)} closed by {agent.username}."

    st.button("Close ticket", key=f"close_{ticket_id}", on_click=_act, args=(close,))


def show_correction(settings: Settings, ticket: dict[str, Any]) -> None:
    """An agent says what the models should have answered: the ticket changes at once (a new
    category re-routes it) and the next training run learns from it."""
    agent = current_agent()
    if agent is None:
        return
    ticket_id = ticket["ticket_id"]
    with st.expander("Correct the models"), st.form(f"correct_{ticket_id}"):
        category = st.selectbox(
            "Category", CATEGORIES, index=_index(CATEGORIES, ticket.get("category"))
        )
        sentiment = st.selectbox(
            "Sentiment", SENTIMENTS, index=_index(SENTIMENTS, ticket.get("sentiment"))
        )
        brand_tweet = st.checkbox("Not a customer: a brand's own tweet")
        reply_wrong = st.checkbox("The drafted reply was wrong")
        if not st.form_submit_button("Save correction"):
            return
    changes = Changes(
        category=category,
        sentiment=sentiment,
        inbound=False if brand_tweet else None,
        reply_wrong=reply_wrong,
    )
    done = workflow.correct(settings, ticket_id, changes, agent.username)
    fixed = "; ".join(f"{c['field']} {c['before']} → {c['after']}" for c in done)
    st.session_state[FLASH_KEY] = (
        f"Corrected by {agent.username}: {fixed}." if done else "Nothing to correct."
    )
    st.rerun()


def _index(options: tuple[str, ...], value: Any) -> int:
    return options.index(value) if value in options else 0


def show_audit(settings: Settings, ticket_id: str) -> None:
    """Who approved, rejected, edited or closed what, and when."""
    st.markdown("**Audit trail**")
    entries = workflow.audit_trail(settings, ticket_id)
    if not entries:
        st.caption("no agent has acted on this ticket yet")
        return
    trail = pd.DataFrame(
        {
            "when (UTC)": [e.at.strftime("%Y-%m-%d %H:%M:%S") for e in entries],
            "agent": [e.actor for e in entries],
            "action": [e.action for e in entries],
            "on": [e.target_id for e in entries],
            "detail": [e.detail for e in entries],
        }
    )
    st.table(literal_columns(trail, ["agent", "detail"]), hide_index=True)


def _with_score(value: Any, score: Any, style: str) -> str | None:
    if value is None:
        return None
    if score is None:
        return str(value)
    return f"{value} ({score:.0%})" if style == "%" else f"{value} ({score:+.2f})"
