"""`tweetcare tickets list|show|stats|close|correct`: what the support team works from."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tweetcare.cli.actor import ExpectVersionOption, UserOption, actor
from tweetcare.cli.json_output import print_document, print_records
from tweetcare.core.schemas import CATEGORIES, SENTIMENTS
from tweetcare.core.settings import get_settings
from tweetcare.tickets import Ticket, TicketStore
from tweetcare.tickets.models import TICKET_STATUSES, utc
from tweetcare.tickets.routing import load_routing
from tweetcare.ui.data.durations import format_duration

app = typer.Typer(no_args_is_help=True, help="Support tickets opened by the stream.")
TEXT_WIDTH = 60
TicketArgument = Annotated[
    str,
    typer.Argument(
        help="its number (#10482 or 10482) or a unique prefix of its id (TC-3F2A)",
        show_default=False,
    ),
]


def _console() -> Console:
    """Made per command, so the terminal width (COLUMNS) is read when it prints."""
    return Console()


def _store() -> TicketStore:
    return TicketStore(get_settings().tickets_db_url)


def _acting(action: Callable[[TicketStore], Ticket]) -> Ticket:
    """One audited agent action on the configured store, closed afterwards whatever happens."""
    store = _store()
    try:
        return action(store)
    finally:
        store.close()


def _when(value: datetime | None) -> str:
    return utc(value).strftime("%Y-%m-%d %H:%M") if value else "-"


def _age(ticket: Ticket, now: datetime) -> str:
    """How long the ticket has been open on the store's clock (not since the tweet, which may
    be years old in replayed history), as the console shows it."""
    return format_duration((now - utc(ticket.opened_at)).total_seconds())


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.0f} min"


def _choice(value: str | None, allowed: Sequence[str], option: str) -> str | None:
    """VALUE in lower case if it is one of ALLOWED; otherwise a usage error naming them all.

    The levels and teams come from routing.yaml, so they are checked here rather than as a
    fixed enum in the signature.
    """
    if value is None:
        return None
    if value.lower() in allowed:
        return value.lower()
    valid = ", ".join(repr(a) for a in allowed)
    raise typer.BadParameter(f"{value!r} is not one of {valid}.", param_hint=f"'{option}'")


def _teams() -> list[str]:
    rules = load_routing(get_settings().routing_config).teams
    named = {rules.default, *rules.by_category.values()}
    named |= {team for brand in rules.by_brand.values() for team in brand.values()}
    return sorted(named)


@app.command("list")
def list_tickets(
    status: Annotated[str | None, typer.Option(help="open, responded or closed")] = None,
    team: Annotated[str | None, typer.Option(help="only this team's tickets")] = None,
    priority: Annotated[str | None, typer.Option(help="urgent, high, normal or low")] = None,
    category: Annotated[str | None, typer.Option(help="e.g. billing, delivery")] = None,
    brand: Annotated[str | None, typer.Option(help="the brand's handle, without @")] = None,
    limit: Annotated[int, typer.Option(help="most recently updated first")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """The latest tickets, optionally filtered (names in any case)."""
    status = _choice(status, TICKET_STATUSES, "--status")
    levels = load_routing(get_settings().routing_config).priority.levels
    priority = _choice(priority, levels, "--priority")
    category = _choice(category, CATEGORIES, "--category")
    team = _choice(team, _teams(), "--team")
    store = _store()
    try:
        tickets = store.list_tickets(
            limit, status=status, team=team, priority=priority, category=category, brand=brand
        )
    finally:
        store.close()
    if as_json:
        for ticket in tickets:
            print(json.dumps(ticket.to_dict(), ensure_ascii=False))
        return
    table = Table(title=f"{len(tickets)} tickets")
    columns = ("ticket", "status", "priority", "team", "category", "brand", "tweets", "age")
    for column in (*columns, "SLA due", "1st response", "text"):
        table.add_column(column, overflow="fold")
    now = datetime.now(UTC)
    for t in tickets:
        table.add_row(
            t.reference,
            t.status,
            t.priority,
            t.team,
            t.category,
            escape(t.brand or "-"),
            str(t.tweet_count),
            _age(t, now),
            _when(t.sla_due_at),
            _minutes(t.first_response_seconds),
            escape(t.text[:TEXT_WIDTH]),
        )
    _console().print(table)


@app.command("show")
def show(
    ticket_id: TicketArgument,
    as_json: Annotated[
        bool, typer.Option("--json", help="one JSON object: the ticket, thread, replies")
    ] = False,
) -> None:
    """Everything about one ticket: routing, analysis, lineage, its thread and its reply."""
    store = _store()
    try:
        ticket = store.get_ticket(ticket_id)
        thread = store.thread_of(ticket.ticket_id)
        replies = store.list_replies(ticket_id=ticket.ticket_id)
    finally:
        store.close()
    if as_json:
        record = {
            **ticket.to_dict(),
            "thread": thread,
            "replies": [reply.to_dict() for reply in replies],
        }
        print(json.dumps(record, ensure_ascii=False, default=str))
        return
    console = _console()
    console.print(_ticket_table(ticket))
    if ticket.entities:
        entities = Table(title="entities")
        for column in ("label", "text", "span"):
            entities.add_column(column)
        for e in ticket.entities:
            entities.add_row(e["label"], escape(e["text"]), f"{e['start']}-{e['end']}")
        console.print(entities)
    console.print(f"customer tweets: {', '.join(thread['customer_tweets'])}")
    console.print(f"brand replies: {', '.join(thread['brand_replies']) or '-'}")
    for reply in replies:
        reasons = "; ".join(reply.gate_reasons) or "confident"
        console.print(
            escape(f"reply {reply.reply_id} [{reply.decision}] ({reasons}): {reply.text}")
        )


def _ticket_table(ticket: Ticket) -> Table:
    table = Table(title=f"ticket {ticket.reference}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    shown: dict[str, Any] = {
        "id": ticket.ticket_id,
        "status": ticket.status,
        "priority": ticket.priority,
        # why a ticket is more urgent than its own tweets make it
        "incident": (
            f"{ticket.incident_alert_id} (an active incident raised its priority)"
            if ticket.incident_alert_id
            else "-"
        ),
        "team": ticket.team,
        "category": f"{ticket.category} ({_score(ticket.category_confidence)})",
        "sentiment": f"{ticket.sentiment or '-'} ({_score(ticket.sentiment_score)})",
        "brand": ticket.brand or "-",
        "customer": ticket.customer_id,
        "conversation": ticket.conversation_id,
        "tweets": ticket.tweet_count,
        "tweeted": _when(ticket.created_at),
        "opened": f"{_when(ticket.opened_at)} ({_age(ticket, datetime.now(UTC))} ago)",
        "updated": _when(ticket.updated_at),
        "SLA due": _when(ticket.sla_due_at),
        "first response": (
            f"{_when(ticket.first_response_at)} ({_minutes(ticket.first_response_seconds)})"
            if ticket.first_response_at
            else "-"
        ),
        "models": ", ".join(f"{k} {v}" for k, v in sorted(ticket.models.items())) or "-",
        "data version": ticket.data_version or "-",
        "text": ticket.text,
    }
    for name, value in shown.items():
        table.add_row(name, escape(str(value)))
    return table


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


@app.command("stats")
def stats(
    as_json: Annotated[bool, typer.Option("--json", help="the figures as one JSON object")] = False,
) -> None:
    """Tickets by status, team, priority and category; first-response times; SLA breaches."""
    store = _store()
    try:
        figures = store.ticket_stats()
    finally:
        store.close()
    if as_json:
        print_document(figures)
        return
    console = _console()
    console.print(
        f"tickets: {figures['tickets']}  responded: {figures['responded']}  "
        f"SLA breached: {figures['sla_breached']}"
    )
    waits = figures["first_response_seconds"]
    if waits:
        console.print(
            "first response: "
            + ", ".join(f"{name} {_minutes(value)}" for name, value in waits.items())
        )
    for name in ("by_status", "by_priority", "by_team", "by_category", "replies"):
        table = Table(title=name.removeprefix("by_"))
        table.add_column(name.removeprefix("by_"))
        table.add_column("tickets" if name != "replies" else "replies", justify="right")
        for key, count in figures[name].items():
            table.add_row(escape(key), str(count))
        console.print(table)


@app.command("close")
def close(
    ticket_id: TicketArgument,
    user: UserOption = None,
    expect_version: ExpectVersionOption = None,
) -> None:
    """Close a ticket (a new customer tweet in its thread reopens it), with an audit entry."""
    from tweetcare.tickets.actions import close_ticket

    who = actor(user)
    ticket = _acting(lambda store: close_ticket(store, ticket_id, who, expect_version))
    _console().print(f"{ticket.reference} closed by {escape(who)}")


@app.command("reopen")
def reopen(
    ticket_id: TicketArgument,
    user: UserOption = None,
    expect_version: ExpectVersionOption = None,
) -> None:
    """Open a closed ticket again, with an audit entry."""
    from tweetcare.tickets.actions import reopen_ticket

    who = actor(user)
    ticket = _acting(lambda store: reopen_ticket(store, ticket_id, who, expect_version))
    _console().print(f"{ticket.reference} reopened by {escape(who)}")


@app.command("assign")
def assign(
    ticket_id: TicketArgument,
    assignee: Annotated[
        str | None, typer.Argument(help="the agent to give it to; left out: back to the queue")
    ] = None,
    user: UserOption = None,
    expect_version: ExpectVersionOption = None,
) -> None:
    """Give a ticket to an agent (or back to its team's queue), with an audit entry."""
    from tweetcare.tickets.actions import assign_ticket

    who = actor(user)
    ticket = _acting(lambda store: assign_ticket(store, ticket_id, assignee, who, expect_version))
    holder = escape(ticket.assignee) if ticket.assignee else "the queue"
    _console().print(f"{ticket.reference} assigned to {holder} by {escape(who)}")


@app.command("correct")
def correct(
    ticket_id: TicketArgument,
    category: Annotated[str | None, typer.Option(help="the right complaint category")] = None,
    sentiment: Annotated[str | None, typer.Option(help="the right sentiment")] = None,
    not_inbound: Annotated[
        bool, typer.Option("--not-inbound", help="a brand's tweet, not a customer's")
    ] = False,
    reply_wrong: Annotated[
        bool, typer.Option("--reply-wrong", help="the drafted reply was wrong")
    ] = False,
    agent: Annotated[str, typer.Option(envvar="USER", help="who corrects it")] = "",
    as_json: Annotated[
        bool, typer.Option("--json", help="one JSON object per corrected field")
    ] = False,
) -> None:
    """Correct what the models said about a ticket; the next training learns from it
    (`tweetcare data corrections export`, then `dvc repro`)."""
    from tweetcare.tickets.corrections import Changes, correct_ticket

    changes = Changes(
        category=_choice(category, CATEGORIES, "--category"),
        sentiment=_choice(sentiment, SENTIMENTS, "--sentiment"),
        inbound=False if not_inbound else None,
        reply_wrong=reply_wrong,
    )
    settings = get_settings()
    store = _store()
    try:
        done = correct_ticket(
            store, ticket_id, agent, changes, load_routing(settings.routing_config)
        )
        shown = store.get_ticket(ticket_id).reference
    finally:
        store.close()
    if as_json:
        print_records(done)
        return
    if not done:
        _console().print(f"{shown}: nothing changed (the models already said so)")
    for row in done:
        _console().print(
            f"{shown}: {row['field']} {escape(str(row['before']))} -> "
            f"{escape(row['after'])} by {escape(row['agent'])}"
        )
