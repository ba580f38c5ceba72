"""DVC stage ``train_analysis``: sentiment, complaint category + ticket flags, entities.

Trains the three customer-tweet models on the labelled featurized splits, logs each to the
MLflow experiment `tweet-analysis` with its metrics and confusion matrices, and registers them
as `tweet-sentiment`, `tweet-category` and `tweet-entities` through the promotion gate: each
becomes `@champion` only when it meets its budget (`register.analysis`) and beats the champion
on the same held-out test tweets; otherwise it is `@challenger`. Agents' corrected
customer tweets (`corrections.parquet`) join the sentiment and category training sets,
`data.corrections_weight` times each.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import mlflow
import typer

from training.analysis.data import (
    generated_splits,
    has_analysis_labels,
    load_corrections,
    load_split,
    read_flags,
)
from training.analysis.experiment import (
    EVAL_SPLITS,
    ModelOutcome,
    train_category,
    train_entities,
    train_sentiment,
)
from training.analysis.heldout import HELDOUT_DIR, write_heldout
from training.analysis.labelled import labelled_splits
from training.analysis.taxonomy import DEFAULT_TAXONOMY, load_taxonomy
from training.datasets import CORRECTIONS
from training.model_card import data_version
from training.registry import Promotion, analysis_heldout, gate
from training.restore import keep_copy
from tweetcare.core.contract import ANALYSIS_EXPERIMENT, DATA_VERSION_TAG, SOURCE_TAG
from tweetcare.core.errors import UserError
from tweetcare.core.params import DEFAULT_PARAMS, AnalysisParams, Budget, load_params
from tweetcare.core.settings import get_settings

DEFAULT_FEATURES = Path("artifacts/features")
DEFAULT_OUT = Path("artifacts/analysis")
DEFAULT_METRICS = Path("metrics/analysis.json")
DEFAULT_DATA_DVC = Path("data.dvc")
SPLITS = ("train", *EVAL_SPLITS)


def summary(outcomes: dict[str, ModelOutcome]) -> dict[str, dict[str, Any]]:
    """The headline figures `dvc metrics show` lists (test split unless named)."""
    s, c, e = (outcomes[k].report for k in ("sentiment", "category", "entities"))
    chosen = s["chosen"]
    figures = {
        "sentiment": {
            "chosen": chosen,
            "vader_val_macro_f1": s["vader_val"]["macro_f1"],
            "tfidf_val_macro_f1": s["tfidf_val"]["macro_f1"],
            "test_macro_f1": s[f"{chosen}_test"]["macro_f1"],
        },
        "category": {
            "chosen": c["chosen"],
            "test_macro_f1": c["category_test"]["macro_f1"],
            "minilm_test_macro_f1": c["minilm_test"]["macro_f1"],
            "cascade_test_macro_f1": c["cascade_test"]["macro_f1"],
            "cascade_static_share_test": c["cascade_static_share_test"],
            "minilm_tweets_per_second": c["tweets_per_second"]["minilm"],
            "cascade_tweets_per_second": c["tweets_per_second"]["cascade"],
            "tfidf_cascade_test_macro_f1": c["tfidf_cascade_test"]["macro_f1"],
            "tfidf_cascade_static_share_test": c["tfidf_cascade_static_share_test"],
            "tfidf_cascade_tweets_per_second": c["tweets_per_second"]["tfidf_cascade"],
            "tfidf_test_macro_f1": c["tfidf_test"]["macro_f1"],
            "keyword_test_macro_f1": c["keyword_test"]["macro_f1"],
            "flags_test_macro_f1": c["flags_test"]["macro_f1"],
        },
        "entities": {
            "test_f1": e["entities_test"]["f1"],
            "rules_only_test_f1": e["rules_only_test"]["f1"],
        },
    }
    # per source: every labelled set's held-out tweets, and all of them together ("real")
    figures["sentiment"] |= real_figures(s, chosen)
    figures["category"] |= real_figures(c, "category")
    return figures


def real_figures(report: dict[str, Any], prefix: str) -> dict[str, float]:
    """``real[_<set>]_macro_f1`` of the chosen variant for each labelled source scored."""
    return {
        f"{key.removeprefix(prefix + '_')}_macro_f1": value["macro_f1"]
        for key, value in report.items()
        if key.startswith(f"{prefix}_real") and isinstance(value, dict)
    }


def train_analysis(
    features_dir: Path,
    labels: Path,
    params: AnalysisParams,
    tracking_uri: str,
    out_dir: Path,
    budgets: dict[str, Budget],
    taxonomy_path: Path = DEFAULT_TAXONOMY,
    data_dvc: Path = DEFAULT_DATA_DVC,
    corrections_weight: int = 1,
    labelled: Path | None = None,
    labelled_weights: dict[str, int] | None = None,
) -> tuple[dict[str, ModelOutcome], dict[str, Promotion]]:
    """Train, log and register the three models through the gate (each with its `budgets`
    entry); write reports, confusion matrices, held-out tweets and a copy of each model. Each
    corrected tweet counts `corrections_weight` times; the labelled sets under `labelled` are
    split by conversation, train (`labelled_weights` times a row) and score per source."""
    missing = sorted(set(params.model_names) - set(budgets))
    if missing:
        raise UserError(f"register.analysis has no budget for {', '.join(missing)}: add one")
    taxonomy = load_taxonomy(taxonomy_path)
    flags = read_flags(labels)
    if has_analysis_labels(features_dir):
        splits = {name: load_split(features_dir, name, flags) for name in SPLITS}
    else:  # a real export: the generator's labelled tweets are the base, the sets the customers
        splits = generated_splits(params.generated_base_rows, params.seed, mask_handles=True)
    corrections = load_corrections(features_dir, flags)
    # entities learn from generated spans, which corrections do not carry
    corrected = splits if corrections is None else {**splits, CORRECTIONS: corrections}
    sets = {
        task: labelled_splits(
            labelled,
            task,
            params.labelled_heldout_share,
            params.seed,
            labelled_weights or {},
        )
        if labelled is not None
        else []
        for task in ("sentiment", "category")
    }
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(ANALYSIS_EXPERIMENT)
    tags = {DATA_VERSION_TAG: data_version(data_dvc), "dvc.stage": "train_analysis"}
    outcomes = {
        "sentiment": train_sentiment(
            corrected, params, tags, corrections_weight, sets["sentiment"]
        ),
        "category": train_category(
            corrected, params, taxonomy, tags, corrections_weight, sets["category"]
        ),
        "entities": train_entities(splits, params, tags),
    }
    registered = {
        key: gate(
            params.model_names[key],
            o.model_uri,
            o.run_id,
            analysis_heldout(key, o.heldout),
            budgets[key],
            tags={**tags, SOURCE_TAG: o.model_uri},
        )
        for key, o in outcomes.items()
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    write_heldout({key: o.heldout for key, o in outcomes.items()}, out_dir / HELDOUT_DIR)
    for key, outcome in outcomes.items():
        # for DVC to cache: register restores a lost MLflow store from these copies
        keep_copy(outcome.model_uri, out_dir / "models" / key)
    for outcome in outcomes.values():
        for name, frame in outcome.confusions.items():
            frame.to_csv(out_dir / f"confusion_{name}.csv")
    record = {
        key: {
            # what register needs to restore it: the logged model and its run
            "registered": {
                "name": registered[key].model_name,
                "version": registered[key].version,
                "run_id": o.run_id,
                "model_uri": o.model_uri,
            },
            "gate": asdict(registered[key]),
            "report": o.report,
        }
        for key, o in outcomes.items()
    }
    (out_dir / "report.json").write_text(json.dumps(record, indent=2) + "\n")
    return outcomes, registered


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
            params.register_.analysis,
            corrections_weight=params.data.corrections_weight,
            labelled=params.data.labelled,
            labelled_weights=params.data.labelled_weights,
        )
    except UserError as err:
        typer.secho(f"error: {err}", fg="red", err=True)
        raise typer.Exit(2) from None
    figures = summary(outcomes)
    metrics_path.parent.mkdir(parents=True, exist_ok=True)
    metrics_path.write_text(json.dumps(figures, indent=2) + "\n")
    typer.echo(json.dumps(figures, indent=2))
    for gated in registered.values():
        typer.echo(f"{gated.model_name} v{gated.version} -> @{gated.alias}: {gated.reason}")


if __name__ == "__main__":
    typer.run(main)
