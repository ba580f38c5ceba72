"""The model card written for every registered version: what it is, how good, what for, limits.

Rendered from the training run itself (its params, metrics and data-version tag) plus the
promotion gate's decision, so the card cannot drift from what MLflow recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
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
SYNTHETIC = (
    "- Trained and scored on synthetic labelled tweets: retrain and re-gate on labelled real "
    "tweets before trusting its figures."
)


@dataclass(frozen=True)
class CardText:
    """What a card says a kind of model is for, where it falls short, and what its metrics
    table measures."""

    intended_use: str
    limits: tuple[str, ...]
    metrics_heading: str


INBOUND_CARD = CardText(INTENDED_USE, LIMITS, "Metrics (inbound = positive class)")
# the analysis models: their run's test-split headline figures (`<model>_test_<metric>`)
ANALYSIS_CARDS = {
    "sentiment": CardText(
        "Tag each English customer tweet negative, neutral or positive for the agent console "
        "and the monitoring drift checks.",
        (SYNTHETIC, "- English only; sarcasm and mixed feelings are often misread."),
        "Metrics (test split, English customer tweets)",
    ),
    "category": CardText(
        "Give each customer tweet a complaint category and ticket flags (spam, chatter, not "
        "English) so tickets are routed and noise is kept out of the queue.",
        (SYNTHETIC, "- The category is scored on tweets that open a thread; replies inherit."),
        "Metrics (test split, customer tweets that open a thread)",
    ),
    "entities": CardText(
        "Find order numbers, flight numbers, places, products and PII spans in customer tweets "
        "for ticket fields and redaction.",
        (SYNTHETIC, "- Exact-span matching: a span off by one character counts as a miss."),
        "Metrics (test split, exact entity spans)",
    ),
}
# an analysis run's headline figures: `<variant>_test_<metric>` (per-class F1s left out)
TEST_FIGURES = ("macro_f1", "accuracy", "precision", "recall", "f1")


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
    about: CardText = INBOUND_CARD,
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
        f"## {about.metrics_heading}",
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
    figures = [
        f"- {variant} test {figure}: {_figure(metrics, key)}"
        for key in sorted(metrics)
        for variant, _, figure in [key.partition("_test_")]
        if variant and figure in TEST_FIGURES
    ]
    lines += ["", *figures] if figures else []
    lines += [
        "",
        speed,
        "",
        "## Intended use",
        "",
        about.intended_use,
        "",
        "## Limits",
        "",
        *about.limits,
        "",
    ]
    return "\n".join(lines)
