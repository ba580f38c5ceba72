"""Sentiment of customer tweets: VADER (a lexicon built for social media) versus a trained model.

VADER ships its lexicon, handles emojis, slang, negation and "!!!" emphasis, and needs no
training; the trained model (TF-IDF word and character n-grams, logistic regression) learns this
domain's wording. Both are scored on val; the stage registers the better one, honestly.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline, make_union

from training.analysis.packaging import (
    load_estimator,
    log_pyfunc,
    save_estimator,
    save_pyfunc,
    texts_of,
)
from tweetcare.core.text import clean_text

VADER = "vader"
TFIDF = "tfidf"
CLASSIFIER_ARTIFACT = "sentiment_classifier"
OUTPUTS = {"sentiment": "string", "sentiment_score": "double"}
MAX_ITER = 2000
# the lexicon features' weight beside thousands of TF-IDF columns
LEXICON_SCALE = 3.0
_NEGATORS = frozenset(
    [
        "not",
        "no",
        "never",
        "nothing",
        "don't",
        "didn't",
        "can't",
        "won't",
        "isn't",
        "wasn't",
        "doesn't",
        "cannot",
        "nobody",
    ]
)
_STRIP = ".,!?\"'():;"


@cache
def _lexicon() -> dict[str, float]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return dict(SentimentIntensityAnalyzer().lexicon)


def lexicon_features(texts: Sequence[str]) -> np.ndarray:
    """Per cleaned text: VADER's positive and negative word valences summed (a negator flips the
    next word) and their net, each squashed into [-1, 1].

    The generator knows a few hundred templates; VADER's 7,500 rated words carry sentiment over
    to the wording of real customers that no template has ("moved mountains", "nightmare"). A
    dictionary lookup per word, so it costs next to nothing beside the TF-IDF features.
    """
    lexicon = _lexicon()
    out = np.zeros((len(texts), 3))
    for i, text in enumerate(texts):
        pos = neg = 0.0
        previous = ""
        for word in text.split():
            value = lexicon.get(word.strip(_STRIP))
            if value:
                value = -0.7 * value if previous in _NEGATORS else value
                pos, neg = (pos + value, neg) if value > 0 else (pos, neg - value)
            previous = word
        net = pos - neg
        out[i] = (pos / (1 + pos), neg / (1 + neg), net / np.sqrt(net * net + 15))
    return out


class LexiconFeatures(BaseEstimator, TransformerMixin):
    """`lexicon_features` as a pipeline step (stateless: fit learns nothing)."""

    def __init__(self, scale: float = LEXICON_SCALE) -> None:
        self.scale = scale

    def fit(self, texts: Sequence[str], labels: Sequence[str] | None = None) -> LexiconFeatures:
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        return lexicon_features(list(texts)) * self.scale


def vader_scores(texts: Sequence[str]) -> np.ndarray:
    """VADER's compound score in [-1, 1] for each raw text (links and handles cleaned away)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return np.asarray(
        [analyzer.polarity_scores(_for_vader(t))["compound"] for t in texts], dtype=float
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


def fit_tfidf(texts: Sequence[str], labels: Sequence[str], C: float, max_features: int) -> Pipeline:
    """Word 1-2-grams, character 2-5-grams (emojis, "!!!", "sooo") and the VADER lexicon's
    valences into logistic regression, classes balanced (real complaints are mostly negative;
    generated ones are not, so neither prior should win)."""
    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=max_features),
        TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 5),
            min_df=3,
            sublinear_tf=True,
            max_features=max_features,
        ),
        LexiconFeatures(),
    )
    classifier = LogisticRegression(C=C, max_iter=MAX_ITER, class_weight="balanced")
    model = make_pipeline(features, classifier)
    model.fit([clean_text(t) for t in texts], list(labels))
    return model


def tfidf_predict(model: Pipeline, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Labels and a score in [-1, 1]: P(positive) - P(negative)."""
    if not texts:
        return [], np.empty(0)
    proba = model.predict_proba([clean_text(t) for t in texts])
    classes = list(model.classes_)
    score = proba[:, classes.index("positive")] - proba[:, classes.index("negative")]
    labels = [classes[i] for i in proba.argmax(axis=1)]
    return labels, np.clip(score, -1.0, 1.0)


class SentimentModel(mlflow.pyfunc.PythonModel):
    """Text in; `sentiment` (negative/neutral/positive) and `sentiment_score` in [-1, 1] out."""

    def __init__(self, kind: str, vader_threshold: float) -> None:
        if kind not in (VADER, TFIDF):
            raise ValueError(f"unknown sentiment model kind {kind!r}")
        self.kind = kind
        self.vader_threshold = vader_threshold
        self.classifier: Any = None

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        if self.kind == TFIDF:
            self.classifier = load_estimator(context.artifacts[CLASSIFIER_ARTIFACT])

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        texts = texts_of(model_input)
        if self.kind == TFIDF:
            labels, scores = tfidf_predict(self.classifier, texts)
        else:
            scores = vader_scores(texts)
            labels = label_scores(scores, self.vader_threshold)
        frame = pd.DataFrame({"sentiment": labels, "sentiment_score": scores})
        frame["sentiment_score"] = frame["sentiment_score"].astype(float)
        return frame[list(OUTPUTS)]


def _artifacts(classifier: Pipeline | None, tmp: Path) -> dict[str, str]:
    if classifier is None:
        return {}
    return {CLASSIFIER_ARTIFACT: save_estimator(classifier, tmp / f"{CLASSIFIER_ARTIFACT}.joblib")}


def log_sentiment(
    kind: str, classifier: Pipeline | None, vader_threshold: float, name: str = "sentiment"
) -> mlflow.models.model.ModelInfo:
    with tempfile.TemporaryDirectory() as tmp:
        model = SentimentModel(kind, vader_threshold)
        return log_pyfunc(model, _artifacts(classifier, Path(tmp)), OUTPUTS, name)


def save_sentiment(
    kind: str, classifier: Pipeline | None, vader_threshold: float, path: Path
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        model = SentimentModel(kind, vader_threshold)
        save_pyfunc(model, _artifacts(classifier, Path(tmp)), OUTPUTS, path)
