"""Sentiment of customer tweets: VADER (a lexicon built for social media) versus a trained model.

VADER ships its lexicon, handles emojis, slang, negation and "!!!" emphasis, and needs no
training; the trained model (TF-IDF word and character n-grams, logistic regression) learns this
domain's wording. Both are scored on val; the stage registers the better one, honestly.

The trained model also reads VADER's scores as three extra features: generated tweets repeat a
few thousand words, real customers use many more, and the lexicon's knowledge of those words
carries the model where its n-grams have never been (on real airline tweets, macro-F1 0.62 ->
0.67 with the same generated training data).

The blend averages that model's probabilities with a logistic regression on MiniLM's embedding of
the tweet, the one the category model reads too (`training/embedding_cache.py`: one encoder pass
feeds both). On the 7,234 crowd-labelled airline tweets, 5-fold, trained on them alone: TF-IDF
0.749 macro-F1, the embedding head 0.746, their average 0.771 (each fold +0.016 to +0.034). It
costs an encoder pass per tweet, so it is chosen only where it wins by more than the tolerance.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline, make_union
from sklearn.preprocessing import FunctionTransformer

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
from tweetcare.core.text import clean_text, clean_texts

VADER = "vader"
TFIDF = "tfidf"
TFIDF_MINILM = "tfidf_minilm"
KINDS = (VADER, TFIDF, TFIDF_MINILM)
CLASSIFIER_ARTIFACT = "sentiment_classifier"
EMBEDDING_HEAD_ARTIFACT = "sentiment_embedding_head"
ENCODER_ARTIFACT = "encoder"
OUTPUTS = {"sentiment": "string", "sentiment_score": "double"}
MAX_ITER = 2000


def vader_scores(texts: Sequence[str]) -> np.ndarray:
    """VADER's compound score in [-1, 1] for each raw text (links and handles cleaned away)."""
    return vader_features(texts)[:, 0] if len(texts) else np.empty(0)


def vader_features(texts: Sequence[str]) -> np.ndarray:
    """(compound, positive share, negative share) per raw text: VADER's reading as features."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    rows = [analyzer.polarity_scores(_for_vader(t)) for t in texts]
    return np.asarray([[r["compound"], r["pos"], r["neg"]] for r in rows], dtype=float).reshape(
        -1, 3
    )


def _for_vader(text: str) -> str:
    # VADER reads case ("GREAT" is stronger than "great"): clean, but keep the original case
    cleaned = clean_text(text, mask_handles=True)
    return cleaned if text.lower() == text else _restore_case(text, cleaned)


def _restore_case(text: str, cleaned: str) -> str:
    words = {w.lower(): w for w in text.split()}
    return " ".join(words.get(w, w) for w in cleaned.split())


def label_scores(scores: np.ndarray, threshold: float) -> list[str]:
    """VADER's own convention: compound >= t positive, <= -t negative, else neutral."""
    return np.where(
        scores >= threshold, "positive", np.where(scores <= -threshold, "negative", "neutral")
    ).tolist()


class VaderFeatures(TransformerMixin, BaseEstimator):
    """Raw texts -> `vader_features`; nothing to fit (the lexicon is VADER's own)."""

    def fit(self, texts: Sequence[str], labels: Any = None) -> VaderFeatures:
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        return vader_features(list(texts))


def fit_tfidf(texts: Sequence[str], labels: Sequence[str], C: float, max_features: int) -> Pipeline:
    """Word 1-2-grams plus character 2-5-grams (emojis, "!!!", "sooo") of the cleaned text, and
    VADER's scores of the raw text, into logistic regression. Takes raw texts."""
    ngrams = make_union(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=max_features),
        TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 5),
            min_df=3,
            sublinear_tf=True,
            max_features=max_features,
        ),
    )
    # VADER reads case and emphasis, so it gets the raw text; the n-grams get the cleaned one
    features = make_union(
        make_pipeline(FunctionTransformer(clean_texts), ngrams),
        VaderFeatures(),
    )
    model = make_pipeline(features, LogisticRegression(C=C, max_iter=MAX_ITER))
    model.fit(list(texts), list(labels))
    return model


def tfidf_predict(model: Pipeline, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Labels and a score in [-1, 1]: P(positive) - P(negative)."""
    if not texts:
        return [], np.empty(0)
    proba = model.predict_proba(list(texts))
    classes = list(model.classes_)
    score = proba[:, classes.index("positive")] - proba[:, classes.index("negative")]
    labels = [classes[i] for i in proba.argmax(axis=1)]
    return labels, np.clip(score, -1.0, 1.0)


def fit_embedding_head(embeddings: np.ndarray, labels: Sequence[str], C: float) -> Any:
    """Logistic regression on MiniLM embeddings: the blend's second voice."""
    return LogisticRegression(C=C, max_iter=MAX_ITER).fit(embeddings, list(labels))


def blend_predict(
    classifier: Pipeline, head: Any, texts: Sequence[str], embeddings: np.ndarray
) -> tuple[list[str], np.ndarray]:
    """Labels and P(positive) - P(negative) of the two models' averaged probabilities."""
    if not texts:
        return [], np.empty(0)
    classes = list(classifier.classes_)
    order = [list(head.classes_).index(c) for c in classes]
    proba = (classifier.predict_proba(list(texts)) + head.predict_proba(embeddings)[:, order]) / 2
    score = proba[:, classes.index("positive")] - proba[:, classes.index("negative")]
    return [classes[i] for i in proba.argmax(axis=1)], np.clip(score, -1.0, 1.0)


def embedding_texts(texts: Sequence[str]) -> list[str]:
    """What MiniLM reads: the cleaned text, exactly as the category model gives it, so the
    process's embedding cache serves both."""
    return [clean_text(t) for t in texts]


class SentimentModel(mlflow.pyfunc.PythonModel):
    """Text in; `sentiment` (negative/neutral/positive) and `sentiment_score` in [-1, 1] out."""

    def __init__(
        self, kind: str, vader_threshold: float, max_length: int = 64, batch_size: int = 32
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown sentiment model kind {kind!r}")
        self.kind = kind
        self.vader_threshold = vader_threshold
        self.max_length = max_length
        self.batch_size = batch_size
        self.classifier: Any = None
        self.head: Any = None
        self.encoder: SentenceEncoder | None = None

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        if self.kind in (TFIDF, TFIDF_MINILM):
            self.classifier = load_estimator(context.artifacts[CLASSIFIER_ARTIFACT])
        if self.kind == TFIDF_MINILM:
            self.head = load_estimator(context.artifacts[EMBEDDING_HEAD_ARTIFACT])
            self.encoder = SentenceEncoder(
                context.artifacts[ENCODER_ARTIFACT], self.max_length, self.batch_size
            )

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        texts = texts_of(model_input)
        if self.kind == TFIDF_MINILM:
            if self.encoder is None:
                raise RuntimeError("SentimentModel used before load_context")
            embeddings = embedder(self.encoder)(embedding_texts(texts))
            labels, scores = blend_predict(self.classifier, self.head, texts, embeddings)
        elif self.kind == TFIDF:
            labels, scores = tfidf_predict(self.classifier, texts)
        else:
            scores = vader_scores(texts)
            labels = label_scores(scores, self.vader_threshold)
        frame = pd.DataFrame({"sentiment": labels, "sentiment_score": scores})
        frame["sentiment_score"] = frame["sentiment_score"].astype(float)
        return frame[list(OUTPUTS)]


@dataclass(frozen=True)
class Blend:
    """What the `tfidf_minilm` kind adds to the TF-IDF classifier."""

    head: Any
    encoder: Path
    max_length: int
    batch_size: int


def _artifacts(classifier: Pipeline | None, blend: Blend | None, tmp: Path) -> dict[str, str]:
    artifacts: dict[str, str] = {}
    if classifier is not None:
        path = tmp / f"{CLASSIFIER_ARTIFACT}.joblib"
        artifacts[CLASSIFIER_ARTIFACT] = save_estimator(classifier, path)
    if blend is not None:
        path = tmp / f"{EMBEDDING_HEAD_ARTIFACT}.joblib"
        artifacts[EMBEDDING_HEAD_ARTIFACT] = save_estimator(blend.head, path)
        artifacts[ENCODER_ARTIFACT] = str(blend.encoder)
    return artifacts


def _model(kind: str, vader_threshold: float, blend: Blend | None) -> SentimentModel:
    if (kind == TFIDF_MINILM) != (blend is not None):
        raise ValueError(f"the {TFIDF_MINILM} kind, and only it, needs the embedding head")
    if blend is None:
        return SentimentModel(kind, vader_threshold)
    return SentimentModel(kind, vader_threshold, blend.max_length, blend.batch_size)


def log_sentiment(
    kind: str,
    classifier: Pipeline | None,
    vader_threshold: float,
    name: str = "sentiment",
    blend: Blend | None = None,
) -> mlflow.models.model.ModelInfo:
    with tempfile.TemporaryDirectory() as tmp:
        return log_pyfunc(
            _model(kind, vader_threshold, blend),
            _artifacts(classifier, blend, Path(tmp)),
            signature(OUTPUTS),
            analysis_requirements(),
            name=name,
        )


def save_sentiment(
    kind: str,
    classifier: Pipeline | None,
    vader_threshold: float,
    path: Path,
    blend: Blend | None = None,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        save_pyfunc(
            _model(kind, vader_threshold, blend),
            _artifacts(classifier, blend, Path(tmp)),
            signature(OUTPUTS),
            analysis_requirements(),
            path,
        )
