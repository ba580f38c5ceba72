"""`tweetcare replay`: play a twcs CSV onto the tweets topic as if it were the live feed."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tweetcare.cli.json_output import print_document
from tweetcare.core.settings import get_settings
from tweetcare.kafka import replay as replay_producer


def replay(
    input_file: Annotated[
        Path,
        typer.Option("--input", "-i", help="twcs-format CSV to publish (e.g. data/twcs.csv)"),
    ],
    rate: Annotated[
        float | None,
        typer.Option(help="fixed pace in messages per second (excludes --speed)"),
    ] = None,
    speed: Annotated[
        float | None,
        typer.Option(help="replay created_at gaps this many times faster (excludes --rate)"),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(help="publish only the first N tweets in time order")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="the report as one JSON object (sent, failed, ...)")
    ] = False,
) -> None:
    """Publish tweets in created_at order; as fast as possible unless --rate or --speed.
    Exits 1 if any tweet was not acknowledged."""
    settings = get_settings()
    report = replay_producer.replay(input_file, settings, rate=rate, speed=speed, limit=limit)
    if as_json:
        print_document(asdict(report))
        raise typer.Exit(1 if report.failed else 0)
    console = Console()
    console.print(
        f"sent {report.sent} tweets to [bold]{report.topic}[/] in {report.seconds:.1f}s"
        + (
            f", [red]{report.failed} failed[/] (first: {report.first_error})"
            if report.failed
            else ""
        )
    )
    if report.failed:
        raise typer.Exit(1)
