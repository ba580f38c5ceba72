"""`tweetcare train --data PATH`: the whole ML path on any twcs-format file, real or generated.

Import (row checks) → validate (Great Expectations) → split by conversation → featurize →
compare every model family → register the winner behind the promotion gate. The same stage
functions `dvc repro` runs, pointed at a work folder instead of the repository's paths.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tweetcare.core.params import DEFAULT_PARAMS, RegisterParams, load_params
from tweetcare.core.settings import get_settings
from tweetcare.data.importer import import_twcs

console = Console(stderr=True, soft_wrap=True)
HASH_CHUNK = 1 << 20


class Profile(StrEnum):
    quick = "quick"
    full = "full"


def file_md5(path: Path) -> str:
    """The data version of a file outside DVC: its md5, as DVC would record it."""
    digest = hashlib.md5()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def train(
    data: Annotated[Path, typer.Option(help="twcs-format CSV (real Kaggle dump or generated)")],
    profile: Annotated[
        Profile, typer.Option(help="quick: minutes, for demos; full: the seed's 100k/25k split")
    ] = Profile.quick,
    workdir: Annotated[
        Path, typer.Option(help="where imported data, splits, features and results go")
    ] = Path(".tweetcare/train"),
    params_file: Annotated[Path, typer.Option(help="params.yaml with the knobs")] = DEFAULT_PARAMS,
    gate: Annotated[
        bool, typer.Option(help="register the winner and run the promotion gate")
    ] = True,
) -> None:
    """Train and compare every model on DATA, then register the winner behind the gate."""
    # the pipeline pulls in MLflow, torch and Great Expectations: load them only when training
    from pipelines.featurize import featurize
    from pipelines.register import register
    from pipelines.split import split
    from pipelines.train import train as run_train
    from pipelines.train import write_metrics
    from pipelines.validate import validate

    params = load_params(params_file)
    split_params = params.split.model_copy(update={"profile": profile.value})
    train_params = params.train
    settings = get_settings()
    console.rule(f"import {data}")
    imported = import_twcs(data, workdir / "data")
    rejected = sum(imported.rejected.values())
    console.print(
        f"{imported.accepted:,} rows accepted, {rejected:,} set aside ({imported.rejected})"
    )
    console.rule("validate (Great Expectations)")
    summary = validate(imported.twcs_path, params.validate_, workdir / "reports" / "validation")
    console.print(f"{summary.rows:,} rows passed {summary.evaluated} expectations")
    console.rule(f"split (profile {profile.value})")
    report = split(imported.twcs_path, None, split_params, workdir / "splits")
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    console.print(f"rows {report.rows}, inbound share {report.inbound_share}")
    rows = featurize(workdir / "splits", train_params.mask_handles, workdir / "features")
    console.rule(f"compare {', '.join(train_params.models)} (featurized {rows})")
    result = run_train(
        workdir / "features",
        train_params,
        workdir / "train",
        settings.mlflow_tracking_uri,
        data_version_override=f"md5:{file_md5(imported.twcs_path)} ({data.name})",
    )
    write_metrics(result, workdir / "metrics" / "train.json")
    print((workdir / "train" / "comparison.csv").read_text())
    console.print(f"winner: [bold]{result.winner}[/] (val F1 {result.metrics['val_f1']:.4f})")
    if not gate:
        return
    console.rule("register + promotion gate")
    promotion = register(
        workdir / "train" / "result.json",
        workdir / "features" / "test.parquet",
        RegisterParams.of(params.models, "inbound"),
        settings.mlflow_tracking_uri,
    )
    (workdir / "metrics" / "register.json").write_text(
        json.dumps({**promotion.__dict__, "promoted": promotion.promoted}, indent=2) + "\n"
    )
    console.print(
        f"{promotion.model_name} v{promotion.version} -> @{promotion.alias}: {promotion.reason}",
        highlight=False,
    )
