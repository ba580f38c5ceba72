"""`tweetcare monitor run|alerts`: drift, data quality and escalation alerts on the stream."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tweetcare.core.params import DEFAULT_PARAMS
from tweetcare.core.settings import get_settings
from tweetcare.monitoring.alerts import read_alerts
from tweetcare.monitoring.config import load_monitor_params, parse_duration
from tweetcare.monitoring.runner import REPORTS_DIR, run_monitor
from tweetcare.tickets.incidents import active_incidents

app = typer.Typer(no_args_is_help=True, help="Drift, data quality and escalation alerts.")


@app.command("run")
def run(
    window: Annotated[
        str | None, typer.Option(help="window length, e.g. 15m (default: monitor.window)")
    ] = None,
    params: Annotated[Path, typer.Option(help="the params.yaml with a monitor: block")] = (
        DEFAULT_PARAMS
    ),
    reports: Annotated[Path, typer.Option(help="where the HTML reports go")] = REPORTS_DIR,
    publish: Annotated[bool, typer.Option(help="publish breaches to the alerts topic")] = True,
    track: Annotated[bool, typer.Option(help="log the run to MLflow")] = True,
    incidents: Annotated[
        bool,
        typer.Option(
            help="record escalations as incidents in the ticket store, which raises the "
            "priority of their tickets (priority.incident_raise in routing.yaml)"
        ),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="the result as one JSON object")] = False,
) -> None:
    """Judge the lake's latest window against the training data and the window before."""
    monitor_params = load_monitor_params(params)
    width = parse_duration(window) if window else None
    result = run_monitor(
        get_settings(),
        monitor_params,
        width,
        reports_dir=reports,
        publish=publish,
        track=track,
        incidents=incidents,
    )
    if as_json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return
    console = Console()
    console.print(
        f"window {result.window_start:%Y-%m-%d %H:%M:%S} .. {result.window_end:%H:%M:%S} UTC: "
        f"{result.rows} tweets, {result.dead_letters} dead letters"
        + (f" ({result.note})" if result.note else "")
    )
    if result.escalation_note:
        console.print(f"escalations not judged: {result.escalation_note}")
    for comparison in result.comparisons:
        table = Table(title=f"vs {comparison.reference} ({comparison.reference_rows} rows)")
        for column in ("metric", "method", "value", "threshold", "breach"):
            table.add_column(column)
        for m in comparison.metrics:
            flag = "[bold red]BREACH[/]" if m.breached else "ok"
            table.add_row(m.key, m.method, f"{m.value:.3f}", f"{m.threshold:g}", flag)
        console.print(table)
        if comparison.html:
            console.print(f"report: {comparison.html}")
    for alert in result.alerts:
        console.print(f"[bold red]alert[/] {alert.kind} {escape(str(alert.key))}: {alert.count}")
    if result.run_id:
        console.print(f"MLflow run {result.run_id}; {result.published} alert(s) published")
    if result.incidents:
        console.print(
            f"{result.incidents} incident(s) recorded in the ticket store; "
            f"{result.tickets_raised} open ticket(s) raised"
        )


@app.command("alerts")
def alerts(
    limit: Annotated[int, typer.Option(help="the latest this many")] = 20,
    active: Annotated[bool, typer.Option(help="only escalations still active now")] = False,
    params: Annotated[Path, typer.Option(help="params.yaml (incident_ttl)")] = DEFAULT_PARAMS,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """Recent alerts from the alerts topic (drift breaches and escalations)."""
    messages = read_alerts(get_settings(), limit)
    if active:
        ttl = load_monitor_params(params).escalation.incident_ttl
        ids = {i.alert_id for i in active_incidents(messages, datetime.now(UTC), ttl)}
        messages = [m for m in messages if m.get("alert_id") in ids]
    if as_json:
        for message in messages:
            print(json.dumps(message, ensure_ascii=False))
        return
    table = Table(title=f"{len(messages)} alerts")
    for column in ("alert", "kind", "window end", "scope", "what"):
        table.add_column(column, overflow="fold")
    for m in messages:
        if m.get("type") == "drift":
            what = ", ".join(b["metric"] for b in m.get("breaches", []))
            scope = "models"
        else:
            what = f"{m.get('count')} tweets (threshold {m.get('threshold', 0):.1f})"
            scope = ", ".join(f"{k}={v}" for k, v in (m.get("key") or {}).items())
        table.add_row(
            str(m.get("alert_id")),
            str(m.get("kind")),
            str(m.get("window_end")),
            escape(scope),
            what,
        )
    Console().print(table)
