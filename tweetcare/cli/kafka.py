"""`tweetcare kafka start|stop|status` for the local single-node broker, and `topics` and `tail`
for any cluster the settings point at (TWEETCARE_KAFKA_BOOTSTRAP_SERVERS + client options)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tweetcare.cli.json_output import print_records
from tweetcare.core.errors import UserError
from tweetcare.core.settings import get_settings
from tweetcare.kafka.broker import broker_status, start_broker, stop_broker
from tweetcare.kafka.tail import one_line
from tweetcare.kafka.tail import tail as tail_topic
from tweetcare.kafka.topics import describe_topics, ensure_topics

app = typer.Typer(
    no_args_is_help=True,
    help="Kafka: run the local broker (KRaft, one node); topics and tail on any cluster.",
)
topics_app = typer.Typer(
    no_args_is_help=True, help="The project's topics on the configured cluster."
)
app.add_typer(topics_app, name="topics")

JsonOption = Annotated[bool, typer.Option("--json", help="one JSON object per topic")]


@app.command()
def start() -> None:
    """Start the local broker (if needed) and create the project's topics."""
    settings = get_settings()
    if settings.kafka_bootstrap_servers:
        raise UserError(
            "TWEETCARE_KAFKA_BOOTSTRAP_SERVERS points at an existing cluster: there is no local "
            "broker to start; create the topics there with `tweetcare kafka topics create`"
        )
    console = Console()
    with console.status(f"starting Kafka on {settings.kafka_bootstrap} …"):
        start_broker(settings)
        created = ensure_topics(settings)
    if created:
        console.print(f"created topics: {', '.join(created)}")
    console.print(f"Kafka is up at [bold]{settings.kafka_bootstrap}[/]")


@app.command()
def stop() -> None:
    """Stop the local broker; harmless when it is not running."""
    stopped = stop_broker(get_settings())
    Console().print("Kafka stopped" if stopped else "Kafka was not running")


@app.command()
def status(as_json: JsonOption = False) -> None:
    """Show whether the local broker runs and answers, where, and its topics (exit 1 when it
    is down, so scripts can check)."""
    state = broker_status(get_settings())
    if as_json:
        print(json.dumps(asdict(state)))
    else:
        table = Table(title="Kafka broker", show_header=False)
        table.add_row("running", "[green]yes[/]" if state.running else "[red]no[/]")
        if state.running and not state.ready:
            table.add_row("answers", "[red]no[/]")
        table.add_row("pid", str(state.pid) if state.pid is not None else "-")
        table.add_row("bootstrap", state.bootstrap)
        table.add_row("topics", ", ".join(state.topics) or "-")
        Console().print(table)
    if not state.ready:
        raise typer.Exit(1)


@topics_app.command("create")
def topics_create() -> None:
    """Create the project's missing topics with the configured partitions, replication factor
    and min.insync.replicas (existing ones are left alone)."""
    settings = get_settings()
    created = ensure_topics(settings)
    Console().print(
        f"created on {settings.kafka_bootstrap}: {', '.join(created)}"
        if created
        else f"all project topics exist on {settings.kafka_bootstrap}"
    )


@topics_app.command("list")
def topics_list(as_json: JsonOption = False) -> None:
    """The cluster's topics (internal ones left out)."""
    infos = describe_topics(get_settings())
    if as_json:
        print_records(info.to_dict() | {"assignment": None} for info in infos)
        return
    for info in infos:
        print(info.name)


@topics_app.command("describe")
def topics_describe(
    names: Annotated[
        list[str] | None, typer.Argument(help="topics (default: the project's topics)")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Partitions, replication factor, min.insync.replicas, and each partition's leader,
    replicas and in-sync replicas."""
    settings = get_settings()
    infos = describe_topics(settings, names or settings.all_topics)
    if as_json:
        print_records(info.to_dict() for info in infos)
        return
    console = Console()
    for info in infos:
        table = Table(
            title=(
                f"{info.name}: {len(info.partitions)} partitions, replication factor "
                f"{info.replication_factor}, min.insync.replicas {info.min_insync_replicas}"
            )
        )
        for column in ("partition", "leader", "replicas", "in sync"):
            table.add_column(column)
        for p in info.partitions:
            in_sync = ",".join(map(str, p.isr))
            style = "" if len(p.isr) == len(p.replicas) else "[yellow]"
            table.add_row(
                str(p.partition), str(p.leader), ",".join(map(str, p.replicas)), style + in_sync
            )
        console.print(table)


@app.command()
def tail(
    topic: Annotated[str, typer.Argument(help="topic to read, e.g. tweets-dlq")],
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="start at the oldest message kept")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
    limit: Annotated[int | None, typer.Option(help="stop after this many messages")] = None,
    idle: Annotated[
        float | None, typer.Option(help="stop after this many seconds without a message")
    ] = None,
) -> None:
    """Print a topic's messages (emails and phone numbers masked); the dead-letter topic shows
    each record's reason, where the bad record was, and its value."""
    settings = get_settings()
    dead_letters = topic == settings.topic_dlq
    for record in tail_topic(settings, topic, from_beginning, limit, idle):
        print(
            json.dumps(record.to_dict(), ensure_ascii=False)
            if as_json
            else one_line(record, dead_letters),
            flush=True,
        )
