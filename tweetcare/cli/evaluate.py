"""`tweetcare evaluate`: metrics of any registered (or logged) model on any twcs-format file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tweetcare.core.models import model_contract
from tweetcare.core.settings import get_settings

DEFAULT_MODEL_URI = model_contract().inbound.uri


def evaluate(
    data: Annotated[Path, typer.Option(help="labelled twcs-format CSV (or a split parquet)")],
    model_uri: Annotated[
        str, typer.Option(help="any MLflow model URI: models:/name@alias, models:/name/3, runs:/…")
    ] = DEFAULT_MODEL_URI,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Score MODEL_URI on DATA through its pyfunc (raw text in, as served)."""
    import mlflow  # heavy: loaded only when evaluating

    from pipelines.evaluate import evaluate_model, load_model, read_labelled

    frame = read_labelled(data)
    mlflow.set_tracking_uri(get_settings().mlflow_tracking_uri)
    record, _ = evaluate_model(load_model(model_uri), frame)
    record = {"model_uri": model_uri, "data": str(data), **record}
    if as_json:
        print(json.dumps(record))
        return
    table = Table(title=f"{model_uri} on {data}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in record.items():
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        table.add_row(key, shown)
    Console().print(table)
