"""`tweetcare ingest x`: live tweets from the X API onto the `tweets` topic."""

from __future__ import annotations

import json
import logging
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from tweetcare.core.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="Feed the `tweets` topic from a live source.")


@app.command("x")
def x(
    limit: Annotated[
        int | None, typer.Option(help="stop after publishing this many tweets (default: run on)")
    ] = None,
    stream: Annotated[
        bool, typer.Option(help="listen on the filtered stream (rules from the rules file)")
    ] = True,
    mentions: Annotated[bool, typer.Option(help="poll the brands' mentions and replies")] = True,
    sync_rules: Annotated[
        bool, typer.Option(help="make the stream's rules exactly the rules file's first")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="the final report as JSON")] = False,
) -> None:
    """Publish tweets about the brands in TWEETCARE_X_RULES_CONFIG (config/x_rules.yaml) to
    `tweets`, in replay's format keyed by conversation, until Ctrl-C or --limit.

    Needs TWEETCARE_X_BEARER_TOKEN; reconnects with X's backoff and publishes each tweet once.
    A tweet Kafka has not acknowledged stays in the outbox (<state_dir>/x-ingest/) and is sent
    first next time; each brand's mentions cursor moves only past acknowledged tweets. Exits 1
    when the outbox still holds tweets at the end.
    """
    from tweetcare.ingest.run import ingest_x, outbox_file

    logging.basicConfig(
        level=logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=Console(stderr=True), show_path=False)],
    )
    settings = get_settings()
    report = ingest_x(settings, limit, stream=stream, mentions=mentions, sync_rules=sync_rules)
    figures = report.as_dict()
    if as_json:
        print(json.dumps({"topic": settings.topic_tweets, **figures}))
    else:
        Console().print(
            f"published {report.published} tweets to `{settings.topic_tweets}` "
            f"({report.duplicates} duplicates dropped, {report.reconnects} reconnects, "
            f"{report.resent} resent from the outbox, {report.failed} sends failed)",
            highlight=False,
        )
    if report.kept:
        Console(stderr=True).print(
            f"{report.kept} tweets are not in Kafka yet: kept in {outbox_file(settings)}, "
            "they are sent first on the next run",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)
