"""The model card written for every registered version: what it is, how good, what for, limits.

Rendered from the training run itself (its params, metrics and data-version tag) plus the
promotion gate's decision, so the card cannot drift from what MLflow recorded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import yaml

from tweetcare.core.contract import DATA_VERSION_TAG

UNTRACKED = "untracked (no data.dvc)"
CARD_ARTIFACT = "model_card.md"
# (metric key, label) rows of the card's metrics table, per split
CARD_METRICS: tuple[tuple[str, str], ...] = (
    ("accuracy", "accuracy"),
    ("precision", "precision"),
    ("recall", "recall"),
    ("f1", "F1"),
    ("roc_auc", "ROC-AUC"),
)
INTENDED_USE = (
    "Route tweets in a customer-care stream: flag each tweet as an inbound customer query or "
    "an outbound brand reply, so only inbound tweets open or update support tickets."
)
LIMITS = (
    "- Trained on English twcs-format tweets; other languages and platforms are untested.",
    (
        "- Handles are masked (`@123` → `<user>`, `@Brand` → `<brand>`): the model must not "
        "lean on the numeric-id shortcut; the raw-handles figures show how big that shortcut is."
    ),
    (
        "- The default data is synthetic: figures on it overstate real-world accuracy; retrain "
        "and re-gate on the real Kaggle dump before trusting them."
    ),
    "- A probability near 0.5 is a weak decision; the threshold is fixed at 0.5.",
    "- Not meant for sentiment, urgency or intent beyond inbound/outbound.",
)


def data_version(dvc_file: Path) -> str:
    """The md5 `data.dvc` records for the data folder (the DVC data version)."""
    if not dvc_file.is_file():
        return UNTRACKED
    record = yaml.safe_load(dvc_file.read_text()) or {}
    outs = record.get("outs") or [{}]
    return str(outs[0].get("md5", UNTRACKED))


def _figure(metrics: dict[str, float], key: str) -> str:
    value = metrics.get(key)
    return "—" if value is None else f"{value:.4f}"


def render_model_card(
    name: str,
    version: str,
    alias: str,
    reason: str,
    run_id: str,
    params: dict[str, str],
    metrics: dict[str, float],
    tags: dict[str, str],
) -> str:
    family = params.get("model_family", "unknown")
    rows = "/".join(params.get(f"rows_{split}", "?") for split in ("train", "val", "test"))
    speed = (
        f"Serving speed: {_figure(metrics, 'latency_ms_per_tweet_b1')} ms/tweet at batch 1, "
        f"{_figure(metrics, 'latency_ms_per_tweet_b256')} ms/tweet at batch 256 "
        f"({metrics.get('tweets_per_second_b256', float('nan')):,.0f} tweets/s); "
        f"training {metrics.get('train_seconds', float('nan')):.1f} s; "
        f"size {metrics.get('model_size_mb', float('nan')):.1f} MB."
    )
    lines = [
        f"# Model card: {name} v{version}",
        "",
        f"- family: **{family}** — {tags.get('mlflow.note.content', '')}",
        f"- training run: `{run_id}`; registered {datetime.now(UTC):%Y-%m-%d %H:%M UTC}",
        f"- data version (data.dvc md5): `{tags.get(DATA_VERSION_TAG, UNTRACKED)}`",
        f"- handles masked: {params.get('mask_handles', '?')}; rows train/val/test: {rows}",
        f"- promotion gate: **@{alias}** — {reason}",
        "",
        "## Metrics (inbound = positive class)",
        "",
        "| split | " + " | ".join(label for _, label in CARD_METRICS) + " |",
        "|---|" + "---|" * len(CARD_METRICS),
    ]
    for split, suffix in (("val", ""), ("test", ""), ("test", "_raw")):
        keys = [f"{split}_{key}{suffix}" for key, _ in CARD_METRICS]
        if not any(k in metrics for k in keys):
            continue
        label = f"{split} (raw handles)" if suffix else split
        lines.append(f"| {label} | " + " | ".join(_figure(metrics, k) for k in keys) + " |")
    lines += [
        "",
        speed,
        "",
        "## Intended use",
        "",
        INTENDED_USE,
        "",
        "## Limits",
        "",
        *LIMITS,
        "",
    ]
    return "\n".join(lines)
