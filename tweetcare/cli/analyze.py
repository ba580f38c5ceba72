"""`tweetcare analyze`: a tweet, or every row of a twcs-format CSV, through the server's /analyze.

The CLI asks the running model server rather than loading the models itself, so what it prints
is exactly what the stream and the tickets get.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from tweetcare.core.errors import UsageError, UserError
from tweetcare.core.settings import Settings, get_settings

# fields of each --json line, in order (the contract for scripts)
JSON_FIELDS = ("tweet_id", "inbound", "sentiment", "category", "entities", "needs_ticket")
REQUEST_TIMEOUT_S = 300.0  # a cold server embeds a first large batch slowly on 2 cores
START_HINT = (
    "start it with `tweetcare serve start` (or `bentoml serve serving.service:TweetClassifier "
    "--port {port}`), after `dvc repro` has registered the models"
)


def post_analyze(
    texts: list[str], settings: Settings, client: httpx.Client
) -> list[dict[str, Any]]:
    """One /analyze call; a server that is down or refuses says so in one line."""
    url = f"{settings.bento_url}/analyze"
    try:
        response = client.post(url, json={"texts": texts}, timeout=REQUEST_TIMEOUT_S)
    except httpx.TransportError as err:
        hint = START_HINT.format(port=settings.bento_port)
        raise UserError(f"no model server at {settings.bento_url} ({err}): {hint}") from err
    if response.status_code == 503:
        raise UserError(
            f"{settings.bento_url} cannot analyze yet (HTTP 503): the analysis models are not "
            "registered; run `dvc repro train_analysis`, then restart the server "
            "(`tweetcare serve stop` and `start`); /model_info says what is missing"
        )
    if response.status_code != 200:
        raise UserError(f"/analyze answered HTTP {response.status_code}: {response.text[:300]}")
    answer = response.json()
    if not isinstance(answer, list) or len(answer) != len(texts):
        raise UserError(f"/analyze answered an unexpected shape: {str(answer)[:200]}")
    return answer


def read_rows(path: Path, limit: int | None) -> pd.DataFrame:
    """tweet_id and text of a twcs-format CSV (other columns are ignored)."""
    if not path.is_file():
        raise UsageError(f"CSV not found: {path}")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, nrows=limit)
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise UsageError(f"{path} is not a readable CSV: {err}") from err
    missing = [c for c in ("tweet_id", "text") if c not in frame.columns]
    if missing:
        raise UsageError(f"{path} lacks column(s) {missing}; a twcs-format CSV has tweet_id, text")
    frame = frame[frame["text"].str.strip() != ""]
    return frame[["tweet_id", "text"]].reset_index(drop=True)


def analyze_rows(
    rows: pd.DataFrame, settings: Settings, client: httpx.Client
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(tweet_id, text, analysis) per row, in requests of at most the server's limit."""
    size = settings.classify_max_texts
    for start in range(0, len(rows), size):
        chunk = rows.iloc[start : start + size]
        answers = post_analyze(chunk["text"].tolist(), settings, client)
        yield from zip(chunk["tweet_id"], chunk["text"], answers, strict=True)


def json_line(tweet_id: str, analysis: dict[str, Any]) -> str:
    record = {"tweet_id": tweet_id, **{k: analysis.get(k) for k in JSON_FIELDS[1:]}}
    return json.dumps(record, ensure_ascii=False)


def _entities(analysis: dict[str, Any]) -> str:
    return ", ".join(f"{e['label']}={e['text']}" for e in analysis.get("entities", [])) or "-"


def show_one(text: str, analysis: dict[str, Any], console: Console) -> None:
    table = Table(show_header=False, title=analysis.get("masked_text", text), title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    who = "customer" if analysis["inbound"] else "brand reply (analysis skipped)"
    table.add_row("inbound", f"{who}, p={analysis['inbound_probability']:.3f}")
    if analysis["inbound"]:
        table.add_row(
            "sentiment", f"{analysis['sentiment']} (score {analysis['sentiment_score']:+.2f})"
        )
        table.add_row(
            "category",
            f"{analysis['category']} (confidence {analysis['category_confidence']:.2f})",
        )
        table.add_row("entities", _entities(analysis))
        table.add_row("language", str(analysis.get("language")))
        table.add_row("flags", ", ".join(analysis.get("flags", [])) or "-")
    table.add_row("needs ticket", "yes" if analysis["needs_ticket"] else "no")
    table.add_row("models", "; ".join(f"{k} {v}" for k, v in analysis.get("models", {}).items()))
    console.print(table)


def show_many(results: list[tuple[str, str, dict[str, Any]]], console: Console) -> None:
    table = Table("tweet_id", "inbound", "sentiment", "category", "ticket", "entities", "text")
    for tweet_id, _, a in results:
        table.add_row(
            tweet_id,
            "yes" if a["inbound"] else "no",
            str(a.get("sentiment") or "-"),
            str(a.get("category") or "-"),
            "yes" if a["needs_ticket"] else "no",
            _entities(a),
            a.get("masked_text", "")[:60],
        )
    console.print(table)


def analyze(
    text: Annotated[str | None, typer.Argument(help="a tweet to analyze")] = None,
    input_file: Annotated[
        Path | None,
        typer.Option("--input", "-i", help="a twcs-format CSV: analyze every row"),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="one JSON line per row instead of a table")
    ] = False,
    limit: Annotated[
        int | None, typer.Option(min=1, help="analyze only the first N rows of --input")
    ] = None,
) -> None:
    """Inbound, sentiment, category, entities and the ticket decision, from the model server."""
    if (text is None) == (input_file is None):
        raise UsageError("give either a TEXT to analyze or --input PATH (not both)")
    settings = get_settings()
    console = Console()
    with httpx.Client() as client:
        if text is not None:
            if not text.strip():
                raise UsageError("TEXT is empty: give the tweet to analyze")
            analysis = post_analyze([text], settings, client)[0]
            if as_json:
                typer.echo(json_line("", analysis))
            else:
                show_one(text, analysis, console)
            return
        rows = read_rows(input_file, limit) if input_file is not None else pd.DataFrame()
        if as_json:
            for tweet_id, _, analysis in analyze_rows(rows, settings, client):
                sys.stdout.write(json_line(tweet_id, analysis) + "\n")
            return
        show_many(list(analyze_rows(rows, settings, client)), console)
