"""`tweetcare evaluate`: metrics of any registered (or logged) model on any twcs-format file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tweetcare.core.settings import get_settings


def evaluate(
    data: Annotated[
        Path,
        typer.Option("--input", "-i", help="labelled twcs-format CSV (or a split parquet)"),
    ],
    model_uri: Annotated[
        str | None,
        typer.Option(
            help="any MLflow model URI: models:/name@alias, models:/name/3, runs:/… "
            "[default: the served one, models:/$TWEETCARE_MODEL_NAME@$TWEETCARE_MODEL_ALIAS]"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    log_run: Annotated[
        bool,
        typer.Option(
            "--log-run", help="also log the metrics to an MLflow run (the one `mlflow run` made)"
        ),
    ] = False,
) -> None:
    """Score --model-uri on --input through its pyfunc (raw text in, as served)."""
    import mlflow  # heavy: loaded only when evaluating

    from pipelines.evaluate import evaluate_model, load_model, read_labelled

    settings = get_settings()
    model_uri = model_uri or f"models:/{settings.inbound_model}@{settings.model_alias}"
    frame = read_labelled(data)
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    record, _ = evaluate_model(load_model(model_uri), frame)
    record = {"model_uri": model_uri, "data": str(data), **record}
    if log_run:
        # under `mlflow run`, MLFLOW_RUN_ID names the run it created: start_run resumes it
        with mlflow.start_run(run_name="evaluate"):
            mlflow.log_params({"model_uri": model_uri, "data": str(data)})
            mlflow.log_metrics(
                {k: float(v) for k, v in record.items() if isinstance(v, int | float)}
            )
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
