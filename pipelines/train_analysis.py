"""DVC stage ``train_analysis``: sentiment, complaint category + ticket flags, entities.

Trains the three customer-tweet models on the labelled featurized splits, logs each to the
MLflow experiment `tweet-analysis` with its metrics and confusion matrices, and registers them
as `tweet-sentiment`, `tweet-category` and `tweet-entities` (alias `champion`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import mlflow
import pandas as pd
import typer

from training.analysis.data import load_split, read_flags
from training.analysis.experiment import (
    EVAL_SPLITS,
    ModelOutcome,
    train_category,
    train_entities,
    train_sentiment,
)
from training.analysis.scoring import METRICS, SCORERS, held_out
from training.analysis.taxonomy import DEFAULT_TAXONOMY, load_taxonomy
from training.encoder import StaticEncoder, distill_static, encoder_dir
from training.model_card import DATA_VERSION_TAG, data_version
from training.registry import Promotion, register_and_promote
from tweetcare.core.errors import UserError
from tweetcare.core.models import ModelContract, model_contract
from tweetcare.core.params import DEFAULT_PARAMS, AnalysisParams, RegisterParams, load_params
from tweetcare.core.settings import get_settings
from tweetcare.core.text import clean_text

DEFAULT_FEATURES = Path("artifacts/features")
DEFAULT_OUT = Path("artifacts/analysis")
DEFAULT_METRICS = Path("metrics/analysis.json")
DEFAULT_DATA_DVC = Path("data.dvc")
DEFAULT_STATIC = Path("artifacts/encoders/static")
SPLITS = ("train", *EVAL_SPLITS)


def summary(outcomes: dict[str, ModelOutcome]) -> dict[str, dict[str, Any]]:
    """The headline figures `dvc metrics show` lists (test split unless named)."""
    s, c, e = (outcomes[k].report for k in ("sentiment", "category", "entities"))
    chosen = s["chosen"]
    return {
        "sentiment": {
            "chosen": chosen,
            "vader_val_macro_f1": s["vader_val"]["macro_f1"],
            "tfidf_val_macro_f1": s["tfidf_val"]["macro_f1"],
            "test_macro_f1": s[f"{chosen}_test"]["macro_f1"],
        },
        "category": {
            "encoder": c["encoder"],
            "test_macro_f1": c["heads_test"]["macro_f1"],
            "tweets_per_second": c["tweets_per_second"],
            "tfidf_test_macro_f1": c["tfidf_test"]["macro_f1"],
            "keyword_test_macro_f1": c["keyword_test"]["macro_f1"],
            "flags_test_macro_f1": c["flags_test"]["macro_f1"],
        },
        "entities": {
            "test_f1": e["entities_test"]["f1"],
            "rules_only_test_f1": e["rules_only_test"]["f1"],
        },
    }


def static_encoder(static_dir: Path | None, splits: dict[str, pd.DataFrame], dims: int) -> Any:
    """The distilled static table: the `distill` stage's, else one made for these splits'
    tokens only (seconds instead of minutes: what tests use)."""
    if static_dir is not None and static_dir.is_dir():
        return StaticEncoder.load(static_dir)
    corpus = [clean_text(t) for frame in splits.values() for t in frame["text"].astype(str)]
    return StaticEncoder(distill_static(encoder_dir(), dims=dims, corpus=corpus))


def train_analysis(
    features_dir: Path,
    labels: Path,
    params: AnalysisParams,
    tracking_uri: str,
    out_dir: Path,
    taxonomy_path: Path = DEFAULT_TAXONOMY,
    data_dvc: Path = DEFAULT_DATA_DVC,
    contract: ModelContract | None = None,
    static_dir: Path | None = DEFAULT_STATIC,
) -> tuple[dict[str, ModelOutcome], dict[str, Promotion]]:
    """Train and log the three models, then put each through the promotion gate (the same one
    as tweet-inbound: beat the champion on the test rows, serve within the budget); write the
    reports and confusion matrices."""
    contract = contract or model_contract()
    taxonomy = load_taxonomy(taxonomy_path)
    flags = read_flags(labels)
    splits = {name: load_split(features_dir, name, flags) for name in SPLITS}
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(contract.sentiment.experiment)
    version = data_version(data_dvc)
    tags = {DATA_VERSION_TAG: version, "dvc.stage": "train_analysis"}
    static = static_encoder(static_dir, splits, params.static_dims)
    outcomes = {
        "sentiment": train_sentiment(splits, params, tags),
        "category": train_category(
            splits,
            params,
            taxonomy,
            tags,
            static,
            contract.category.min_tweets_per_second,
            contract.latency_batch,
        ),
        "entities": train_entities(splits, params, tags),
    }
    promotions = {
        role: register_and_promote(
            outcome.model_uri,
            outcome.run_id,
            held_out(role, splits["test"], params),
            RegisterParams.of(contract, role),
            scorer=SCORERS[role],
            metric=METRICS[role],
            tags={**contract.role(role).tags, DATA_VERSION_TAG: version},
        )
        for role, outcome in outcomes.items()
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    for outcome in outcomes.values():
        for name, frame in outcome.confusions.items():
            frame.to_csv(out_dir / f"confusion_{name}.csv")
    record = {
        key: {"registered": asdict(promotions[key]), "report": o.report}
        for key, o in outcomes.items()
    }
    (out_dir / "report.json").write_text(json.dumps(record, indent=2) + "\n")
    return outcomes, promotions


def main(
    features_dir: Annotated[Path, typer.Option(help="folder with train/val/test.parquet")] = (
        DEFAULT_FEATURES
    ),
    out_dir: Annotated[Path, typer.Option(help="reports and confusion matrices")] = DEFAULT_OUT,
    metrics_path: Annotated[Path, typer.Option(help="DVC metrics file")] = DEFAULT_METRICS,
    params_path: Annotated[Path, typer.Option(help="params.yaml")] = DEFAULT_PARAMS,
) -> None:
    """Train the analysis models and register them in the MLflow registry from settings."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        params = load_params(params_path)
        outcomes, registered = train_analysis(
            features_dir,
            params.data.labels,
            params.analysis,
            get_settings().mlflow_tracking_uri,
            out_dir,
            contract=params.models,
        )
    except UserError as err:
        typer.secho(f"error: {err}", fg="red", err=True)
        raise typer.Exit(2) from None
    figures = summary(outcomes)
    metrics_path.parent.mkdir(parents=True, exist_ok=True)
    metrics_path.write_text(json.dumps(figures, indent=2) + "\n")
    typer.echo(json.dumps(figures, indent=2))
    for p in registered.values():
        typer.echo(f"{p.model_name} v{p.version} -> @{p.alias}: {p.reason}")


if __name__ == "__main__":
    typer.run(main)
