"""Complaint category and ticket flags from one MiniLM embedding per tweet, behind a cascade.

The encoder (`training/encoder.py`, int8 MiniLM, ~330 tweets/s on 2 cores) is the expensive
part, so the category head and the spam/chatter head read the same embedding, and language
detection runs beside them: one model,
`tweet-category`, answers "what kind of tweet is this". A pretrained encoder is what lets the
heads carry over from generator templates to real tweets, where a keyword rule or TF-IDF on
template words falls apart.

With a cascade threshold, heads on a cheap first stage answer first; a tweet goes on to MiniLM
unless both first-stage heads are at least that sure. Two first stages compete
(`experiment.py` registers the better): a static embedding distilled from the same MiniLM
(`static.py`), and TF-IDF word n-grams (`TfidfStage`). Either is sure of few real tweets (the
hand-labelled twcs ones: model2vec 2% at 0.95, TF-IDF 15% at 0.7, where TF-IDF alone scores 0.49
macro-F1 against MiniLM's 0.66), so on real traffic MiniLM sets the pace.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import mlflow
import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from training.analysis.language import ENGLISH, detect_language
from training.analysis.static import StaticEncoder
from training.embedding_cache import embedder
from training.encoder import SentenceEncoder
from training.pyfunc import (
    analysis_requirements,
    load_estimator,
    log_pyfunc,
    save_estimator,
    save_pyfunc,
    signature,
    texts_of,
)
from tweetcare.core.text import clean_text

NOT_ENGLISH = "not_english"
NO_FLAG = ""
ENCODER = "encoder"
CATEGORY_HEAD = "category_head"
FLAG_HEAD = "flag_head"
STATIC_ENCODER = "static_encoder"
STATIC_CATEGORY_HEAD = "static_category_head"
STATIC_FLAG_HEAD = "static_flag_head"
OUTPUTS = {
    "category": "string",
    "category_confidence": "double",
    "language": "string",
    "flags": "string",  # comma-separated TICKET_FLAGS, "" when none
}
MAX_ITER = 2000
TFIDF_FILE = "tfidf.joblib"
# a first stage's features: dense unit vectors (model2vec) or a sparse TF-IDF matrix
Features = np.ndarray | sparse.spmatrix


class TfidfStage:
    """TF-IDF word 1-2-grams of the cleaned text: a first stage that costs almost nothing.

    On generated tweets it is sure of most customer tweets and right on them (their wording is
    the generator's); on real ones it is sure of far fewer, and those it is sure of it gets
    right about as often as MiniLM, so the cascade keeps real quality while the encoder sees
    less.
    """

    def __init__(self, vectorizer: TfidfVectorizer) -> None:
        self.vectorizer = vectorizer

    @classmethod
    def fit(cls, texts: Sequence[str], min_df: int) -> TfidfStage:
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=min_df, sublinear_tf=True)
        return cls(vectorizer.fit(list(texts)))

    @classmethod
    def load(cls, folder: Path | str) -> TfidfStage:
        return cls(joblib.load(Path(folder) / TFIDF_FILE))

    def save(self, folder: Path) -> str:
        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.vectorizer, folder / TFIDF_FILE)
        return str(folder)

    def embed(self, texts: Sequence[str]) -> sparse.spmatrix:
        return self.vectorizer.transform(list(texts))


FirstStage = StaticEncoder | TfidfStage


def load_first_stage(folder: Path | str) -> FirstStage:
    """The first stage saved in ``folder``, whichever kind it is."""
    if (Path(folder) / TFIDF_FILE).is_file():
        return TfidfStage.load(folder)
    return StaticEncoder.load(folder)


def fit_head(embeddings: Features, labels: Sequence[str], C: float) -> LogisticRegression:
    head = LogisticRegression(C=C, max_iter=MAX_ITER, class_weight="balanced")
    head.fit(embeddings, list(labels))
    return head


def head_predict(head: LogisticRegression, embeddings: Features) -> tuple[list[str], np.ndarray]:
    """Most likely class and its probability for each row."""
    if embeddings.shape[0] == 0:
        return [], np.empty(0)
    proba = head.predict_proba(embeddings)
    best = proba.argmax(axis=1)
    return [str(head.classes_[i]) for i in best], proba[np.arange(len(best)), best]


def join_flags(language: str, flag: str) -> str:
    flags = ([NOT_ENGLISH] if language != ENGLISH else []) + ([flag] if flag != NO_FLAG else [])
    return ",".join(flags)


@dataclass
class Heads:
    """The fitted heads one encoder's embeddings feed."""

    category: Any
    flag: Any

    def predict(self, embeddings: Features) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
        categories, confidence = head_predict(self.category, embeddings)
        flags, flag_confidence = head_predict(self.flag, embeddings)
        return categories, confidence, flags, flag_confidence


def cascade(
    static: Heads | None,
    static_embed: Any,
    minilm: Heads,
    minilm_embed: Any,
    texts: Sequence[str],
    threshold: float | None,
) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    """Category, confidence and flag of each text: the first stage's heads' answer where both
    are at least ``threshold`` sure, MiniLM's elsewhere (everywhere when there is no first
    stage)."""
    n = len(texts)
    categories, flags = [""] * n, [NO_FLAG] * n
    confidence = np.zeros(n)
    sure = np.zeros(n, dtype=bool)
    if static is not None and threshold is not None and n:
        cat_s, conf_s, flag_s, flag_conf = static.predict(static_embed(texts))
        sure = (conf_s >= threshold) & (flag_conf >= threshold)
        for i in np.flatnonzero(sure):
            categories[i], confidence[i], flags[i] = cat_s[i], conf_s[i], flag_s[i]
    unsure = np.flatnonzero(~sure)
    if len(unsure):
        cat_m, conf_m, flag_m, _ = minilm.predict(minilm_embed([texts[i] for i in unsure]))
        for j, i in enumerate(unsure):
            categories[i], confidence[i], flags[i] = cat_m[j], conf_m[j], flag_m[j]
    return categories, confidence, flags, sure


class CategoryModel(mlflow.pyfunc.PythonModel):
    """Text in; category, its confidence, the detected language and ticket flags out."""

    def __init__(
        self,
        max_length: int,
        batch_size: int,
        language_min_letters: int,
        language_min_probability: float,
        cascade_threshold: float | None = None,
    ) -> None:
        self.max_length = max_length
        self.batch_size = batch_size
        self.language_min_letters = language_min_letters
        self.language_min_probability = language_min_probability
        self.cascade_threshold = cascade_threshold
        self.encoder: SentenceEncoder | None = None
        self.heads: Heads | None = None
        self.static: FirstStage | None = None
        self.static_heads: Heads | None = None

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        artifacts = context.artifacts
        self.encoder = SentenceEncoder(artifacts[ENCODER], self.max_length, self.batch_size)
        self.heads = Heads(
            load_estimator(artifacts[CATEGORY_HEAD]), load_estimator(artifacts[FLAG_HEAD])
        )
        if self.cascade_threshold is not None:
            self.static = load_first_stage(artifacts[STATIC_ENCODER])
            self.static_heads = Heads(
                load_estimator(artifacts[STATIC_CATEGORY_HEAD]),
                load_estimator(artifacts[STATIC_FLAG_HEAD]),
            )

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        if self.encoder is None or self.heads is None:
            raise RuntimeError("CategoryModel used before load_context")
        texts = texts_of(model_input)
        categories, confidence, flags, _ = cascade(
            self.static_heads,
            self.static.embed if self.static is not None else None,
            self.heads,
            embedder(self.encoder),
            [clean_text(t) for t in texts],
            self.cascade_threshold,
        )
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
    encoder: Path,
    heads: Heads,
    static: FirstStage | None,
    static_heads: Heads | None,
    tmp: Path,
) -> dict[str, str]:
    artifacts = {
        ENCODER: str(encoder),
        CATEGORY_HEAD: save_estimator(heads.category, tmp / f"{CATEGORY_HEAD}.joblib"),
        FLAG_HEAD: save_estimator(heads.flag, tmp / f"{FLAG_HEAD}.joblib"),
    }
    if static is not None and static_heads is not None:
        artifacts[STATIC_ENCODER] = static.save(tmp / STATIC_ENCODER)
        artifacts[STATIC_CATEGORY_HEAD] = save_estimator(
            static_heads.category, tmp / f"{STATIC_CATEGORY_HEAD}.joblib"
        )
        artifacts[STATIC_FLAG_HEAD] = save_estimator(
            static_heads.flag, tmp / f"{STATIC_FLAG_HEAD}.joblib"
        )
    return artifacts


def _check(model: CategoryModel, static: FirstStage | None, static_heads: Heads | None) -> None:
    if model.cascade_threshold is not None and (static is None or static_heads is None):
        raise ValueError("a cascade threshold needs the static encoder and its heads")


def log_category(
    model: CategoryModel,
    encoder: Path,
    heads: Heads,
    static: FirstStage | None = None,
    static_heads: Heads | None = None,
    name: str = "category",
) -> mlflow.models.model.ModelInfo:
    _check(model, static, static_heads)
    with tempfile.TemporaryDirectory() as tmp:
        artifacts = _artifacts(encoder, heads, static, static_heads, Path(tmp))
        return log_pyfunc(model, artifacts, signature(OUTPUTS), analysis_requirements(), name=name)


def save_category(
    model: CategoryModel,
    encoder: Path,
    heads: Heads,
    path: Path,
    static: FirstStage | None = None,
    static_heads: Heads | None = None,
) -> None:
    _check(model, static, static_heads)
    with tempfile.TemporaryDirectory() as tmp:
        artifacts = _artifacts(encoder, heads, static, static_heads, Path(tmp))
        save_pyfunc(model, artifacts, signature(OUTPUTS), analysis_requirements(), path)
