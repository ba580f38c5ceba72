"""`tweetcare replies pending|approve|reject|edit|post`: the approval queue behind the safety gate.

Replies live in an outbox: drafted -> approved -> posting -> posted, or rejected; `unclear` is a
reply a crashed post run left half-done, `refused` one X refused (with its reason). `pending`
lists what waits for a person; approve or reject resolves any of them, each with its audit entry
under `--user` (default: the OS user).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tweetcare.cli.actor import ExpectVersionOption, UserOption, actor
from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings, get_settings
from tweetcare.kafka.admin import reachable
from tweetcare.tickets import Reply, TicketStore, actions
from tweetcare.tickets.announce import publish_replies
from tweetcare.tickets.models import DECIDABLE, REFUSED, UNCLEAR
from tweetcare.tickets.poster import post_replies

app = typer.Typer(no_args_is_help=True, help="Drafted replies: review, approve, post.")


def _console() -> Console:
    """Made per command, so the terminal width (COLUMNS) is read when it prints."""
    return Console()


ReplyIds = Annotated[
    list[str], typer.Argument(help="reply ids, e.g. RE-0F8C5E0C2D6B58E1A7B4C3D2E1F0A9B8")
]


@app.command("pending")
def pending(
    limit: Annotated[int, typer.Option(help="oldest first")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """Replies waiting for a person: held by the safety gate, or of unclear posting outcome."""
    store = TicketStore(get_settings().tickets_db_url)
    try:
        replies = store.list_replies(limit=limit, states=DECIDABLE)
        tickets = store.tickets_of(r.conversation_id for r in replies)
    finally:
        store.close()
    if as_json:
        for reply in replies:
            print(json.dumps(reply.to_dict(), ensure_ascii=False))
        return
    table = Table(title=f"{len(replies)} replies waiting for a person")
    for column in ("reply", "ticket", "state", "brand", "why", "text"):
        table.add_column(column, overflow="fold")
    for r in replies:
        reasons = "; ".join(r.gate_reasons)
        if r.state == UNCLEAR:
            reasons = "a post run stopped while posting it: check X, then approve or reject"
        elif r.state == REFUSED:
            reasons = f"X refused it ({r.refusal}): edit it, then approve it, or reject it"
        ticket = tickets.get(r.conversation_id)
        table.add_row(
            r.reply_id,
            ticket.reference if ticket else r.ticket_id,
            r.state,
            escape(r.brand or "-"),
            escape(reasons),
            escape(r.text),
        )
    _console().print(table)


@app.command("approve")
def approve(
    reply_ids: ReplyIds,
    publish: Annotated[
        bool, typer.Option(help="publish the approved replies to the `replies` topic")
    ] = True,
    user: UserOption = None,
    expect_version: ExpectVersionOption = None,
) -> None:
    """Approve pending replies (they are published like the gate's automatic ones), or unclear
    ones you found missing on X (they are posted again)."""
    settings = get_settings()
    who = actor(user)
    _one_if_versioned(reply_ids, expect_version)
    if publish and not reachable(settings):
        raise UserError(
            f"no Kafka broker answers at {settings.kafka_bootstrap} to publish to "
            f"`{settings.topic_replies}`: run `tweetcare kafka start` or pass --no-publish"
        )
    decided = _decide(settings, reply_ids, True, who, expect_version)
    if publish:
        _publish(settings, decided)
    where = f" and published to `{settings.topic_replies}`" if publish else ""
    _console().print(f"approved {len(decided)}{where}: {', '.join(r.reply_id for r in decided)}")


@app.command("reject")
def reject(
    reply_ids: ReplyIds, user: UserOption = None, expect_version: ExpectVersionOption = None
) -> None:
    """Reject pending replies, or unclear ones already on X: they are never posted (again)."""
    who = actor(user)
    _one_if_versioned(reply_ids, expect_version)
    decided = _decide(get_settings(), reply_ids, False, who, expect_version)
    _console().print(f"rejected {len(decided)}: {', '.join(r.reply_id for r in decided)}")


@app.command("edit")
def edit(
    reply_id: Annotated[str, typer.Argument(help="e.g. RE-0F8C5E0C2D6B58E1A7B4C3D2E1F0A9B8")],
    text: Annotated[str, typer.Argument(help="the new text (at most 280 characters)")],
    user: UserOption = None,
    expect_version: ExpectVersionOption = None,
) -> None:
    """Change the text of a reply that waits for a person (held by the gate, or refused by X)."""
    who = actor(user)
    store = TicketStore(get_settings().tickets_db_url)
    try:
        reply = actions.edit_reply(store, reply_id, text, who, expect_version)
    finally:
        store.close()
    _console().print(f"edited {reply.reply_id} (version {reply.version})")


@app.command("post")
def post(
    live: Annotated[
        bool, typer.Option("--live", help="really post to X (needs TWEETCARE_X_* credentials)")
    ] = False,
    limit: Annotated[int, typer.Option(help="most replies to post in this run")] = 50,
) -> None:
    """Post automatic and approved replies to X; without --live, show what would be posted."""
    settings = get_settings()
    store = TicketStore(settings.tickets_db_url)
    try:
        report = post_replies(store, settings, live=live, limit=limit)
    finally:
        store.close()
    console = _console()
    for reply_id, reason in report.refused:
        console.print(
            f"[yellow]X refused {reply_id} ({escape(reason)}): it waits in "
            "`tweetcare replies pending`[/]"
        )
    for reply in report.unclear:
        console.print(
            f"[yellow]{reply.reply_id} was being posted when a run stopped: it may be on X; "
            "it waits in `tweetcare replies pending`[/]"
        )
    if live:
        for reply_id, tweet_id in report.posted:
            console.print(f"posted {reply_id} as tweet {tweet_id}")
        console.print(f"posted {len(report.posted)} replies")
        return
    for reply in report.would_post:
        console.print(f"would post {reply.reply_id} in reply to {reply.in_reply_to_tweet_id}:")
        console.print(f"  {escape(reply.text)}", highlight=False)
    console.print(f"dry run: {len(report.would_post)} replies to post; add --live to post them")


def _decide(
    settings: Settings, reply_ids: list[str], approve: bool, who: str, version: int | None
) -> list[Reply]:
    """Each decision with its audit entry, in its own transaction."""
    store = TicketStore(settings.tickets_db_url)
    try:
        return [
            actions.decide_reply(store, reply_id, approve, who, version) for reply_id in reply_ids
        ]
    finally:
        store.close()


def _one_if_versioned(reply_ids: list[str], version: int | None) -> None:
    if version is not None and len(reply_ids) != 1:
        raise typer.BadParameter(
            "a version is one reply's: give one reply id with it", param_hint="'--expect-version'"
        )


def _publish(settings: Settings, replies: list[Reply]) -> None:
    publish_replies(settings, [reply.to_dict() for reply in replies])
