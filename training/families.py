"""The model families the comparison trains, behind one shape: fit → score raw text → log pyfunc.

Every fitted model scores the RAW tweet text with its own cleaning (and tokenizer), exactly as
its logged pyfunc will when served, so the comparison measures what production would see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.models.model import ModelInfo

from training.analysis.labelled import with_labelled
from training.baseline import LABEL_COLUMN, train_baseline
from training.datasets import CORRECTIONS, LABELLED, with_corrections
from training.evaluate import inbound_scores
from training.pyfunc import TEXT_COLUMN, log_sklearn_pyfunc, save_sklearn_pyfunc
from training.sampling import stratified_rows
from tweetcare.core.errors import UserError
from tweetcare.core.params import TrainParams
from tweetcare.core.text import clean_texts

BASELINE = "baseline"
SEQUENCE_CELLS = ("rnn", "lstm", "gru")
MINILM = "minilm"
FAMILIES = (BASELINE, *SEQUENCE_CELLS, MINILM)
DESCRIPTIONS = {
    BASELINE: "TF-IDF word 1-2 grams + logistic regression (scikit-learn)",
    "rnn": "Simple RNN over a WordPiece tokenizer counted on the train split (Lightning)",
    "lstm": "LSTM over a WordPiece tokenizer counted on the train split (Lightning)",
    "gru": "GRU over a WordPiece tokenizer counted on the train split (Lightning)",
    MINILM: "pretrained MiniLM-L6 encoder (frozen) + logistic-regression head (transformers)",
}


@dataclass
class FittedModel:
    """A trained model of any family: score raw texts in memory, or log/save it as a pyfunc."""

    family: str
    mask_handles: bool
    inbound_probability: Callable[[list[str]], np.ndarray]
    log: Callable[[str], ModelInfo]
    save: Callable[[Path], None]
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


def texts_and_labels(frame: pd.DataFrame, mask_handles: bool) -> tuple[list[str], np.ndarray]:
    """Cleaned texts (the same `clean_text` the pyfunc applies) and 0/1 inbound labels."""
    texts = clean_texts(frame[TEXT_COLUMN].fillna("").astype(str).tolist(), mask_handles)
    return texts, frame[LABEL_COLUMN].astype(int).to_numpy()


def training_rows(splits: dict[str, pd.DataFrame], weight: int) -> pd.DataFrame:
    """The train split plus, when ``splits`` holds them, the agents' corrections (``weight``
    times each) and the labelled sets' training rows (already repeated by their sets' weights)."""
    rows = with_corrections(splits["train"], splits.get(CORRECTIONS), weight)
    labelled = splits.get(LABELLED)
    return rows if labelled is None else with_labelled(rows, labelled)


def _fit_baseline(
    splits: dict[str, pd.DataFrame], params: TrainParams, mask: bool, weight: int
) -> FittedModel:
    texts, labels = texts_and_labels(training_rows(splits, weight), mask)
    classifier = train_baseline(
        pd.DataFrame({"clean_text": texts, LABEL_COLUMN: labels}), params.baseline
    )
    return FittedModel(
        family=BASELINE,
        mask_handles=mask,
        inbound_probability=lambda raw: inbound_scores(classifier, clean_texts(raw, mask)),
        log=lambda name: log_sklearn_pyfunc(classifier, mask, name=name),
        save=lambda path: save_sklearn_pyfunc(classifier, mask, path),
        params=params.baseline.model_dump(),
    )


def _fit_sequence(
    cell: str, splits: dict[str, pd.DataFrame], params: TrainParams, mask: bool, weight: int
) -> FittedModel:
    from training.sequence import fit_sequence, sequence_probabilities
    from training.sequence_pyfunc import log_sequence_pyfunc, save_sequence_pyfunc

    # the served graph runs on the CPU whatever trained it
    threads = params.sequence.threads
    fit = fit_sequence(
        cell,
        texts_and_labels(training_rows(splits, weight), mask),
        texts_and_labels(splits["val"], mask),
        params.sequence,
        params.tokenizer,
        params.seed,
    )
    return FittedModel(
        family=cell,
        mask_handles=mask,
        inbound_probability=lambda raw: sequence_probabilities(
            fit.network, fit.tokenizer, clean_texts(raw, mask)
        ),
        log=lambda name: log_sequence_pyfunc(
            fit.network, fit.tokenizer, mask, name=name, threads=threads
        ),
        save=lambda path: save_sequence_pyfunc(
            fit.network, fit.tokenizer, mask, path, threads=threads
        ),
        params={
            **params.sequence.model_dump(),
            **{f"tokenizer_{k}": v for k, v in params.tokenizer.model_dump().items()},
            "cell": cell,
            "vocab_size_trained": fit.tokenizer.get_vocab_size(),
        },
        metrics={
            "epochs_trained": float(fit.epochs),
            "best_val_loss": fit.best_val_loss,
            "seconds_per_epoch": float(np.mean(fit.epoch_seconds)),
        },
    )


def _fit_minilm(
    splits: dict[str, pd.DataFrame], params: TrainParams, mask: bool, weight: int
) -> FittedModel:
    from training.minilm import fit_minilm
    from training.minilm_pyfunc import head_probabilities, log_minilm_pyfunc, save_minilm_pyfunc

    train = splits["train"]
    rows = stratified_rows(
        train[LABEL_COLUMN].astype(int).to_numpy(), params.transformer.train_sample, params.seed
    )
    # the sample caps the train split only: every correction and labelled row joins it, weighted
    sampled = {**splits, "train": train.iloc[rows]}
    texts, labels = texts_and_labels(training_rows(sampled, weight), mask)
    fit = fit_minilm(texts, labels, params.transformer)

    def score(raw: list[str]) -> np.ndarray:
        embeddings = fit.encoder.embed(clean_texts(raw, mask), progress="MiniLM score")
        return head_probabilities(embeddings, fit.weights, fit.bias)

    args = (fit.encoder, fit.weights, fit.bias, mask)
    return FittedModel(
        family=MINILM,
        mask_handles=mask,
        inbound_probability=score,
        log=lambda name: log_minilm_pyfunc(*args, name=name),
        save=lambda path: save_minilm_pyfunc(*args, path=path),
        params={**params.transformer.model_dump(), "mode": "frozen-encoder+head"},
        metrics={"transformer_train_rows": float(fit.train_rows)},
    )


def import_family_code(family: str) -> None:
    """Import a family's heavy modules (torch, Lightning, transformers) ahead of timing it."""
    if family in SEQUENCE_CELLS:
        import training.sequence
        import training.sequence_pyfunc
    elif family == MINILM:
        import training.minilm  # noqa: F401


def fit_family(
    family: str,
    splits: dict[str, pd.DataFrame],
    params: TrainParams,
    mask_handles: bool,
    corrections_weight: int = 1,
) -> FittedModel:
    """Train one family on `splits['train']` plus `splits['corrections']` (when present) repeated
    `corrections_weight` times and `splits['labelled']` (when present); early stopping, where
    any, on `splits['val']`."""
    if family == BASELINE:
        return _fit_baseline(splits, params, mask_handles, corrections_weight)
    if family in SEQUENCE_CELLS:
        return _fit_sequence(family, splits, params, mask_handles, corrections_weight)
    if family == MINILM:
        return _fit_minilm(splits, params, mask_handles, corrections_weight)
    raise UserError(
        f"unknown model family {family!r} in train.models; known: {', '.join(FAMILIES)}"
    )
