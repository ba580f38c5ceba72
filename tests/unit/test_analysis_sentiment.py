"""Sentiment: VADER's direction, the trained model, and the pyfunc's output contract."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest

from training.analysis.sentiment import (
    OUTPUTS,
    TFIDF,
    TFIDF_MINILM,
    VADER,
    Blend,
    embedding_texts,
    fit_embedding_head,
    fit_tfidf,
    label_scores,
    save_sentiment,
    tfidf_predict,
    vader_scores,
)
from training.encoder import SentenceEncoder, quantized_minilm
from tweetcare.data.generator import generate


@pytest.fixture(scope="module")
def customer() -> pd.DataFrame:
    # 4,000 tweets: on 2,500 the held-out accuracy swings 0.78-0.84 with the generator's seed,
    # so any change to the generator could cross the 0.8 bar by luck (0.84-0.87 here)
    tweets, labels = generate(4000, seed=3)
    frame = pd.concat([tweets, labels.drop(columns="tweet_id")], axis=1)
    return frame[frame["inbound"] & (frame["flag"] != "not_english")].reset_index(drop=True)


def test_vader_reads_emojis_negation_and_emphasis() -> None:
    scores = vader_scores(
        ["@Brand love it 😍", "@Brand this is NOT good!!! 😡", "@Brand what time do you open"]
    )
    assert label_scores(scores, 0.05) == ["positive", "negative", "neutral"]
    assert all(-1.0 <= s <= 1.0 for s in scores)


def test_trained_model_learns_the_labels(customer: pd.DataFrame) -> None:
    half = len(customer) // 2
    train, held = customer.iloc[:half], customer.iloc[half:]
    model = fit_tfidf(train["text"].tolist(), train["sentiment"].tolist(), 4.0, 5000)
    labels, scores = tfidf_predict(model, held["text"].tolist())
    accuracy = (pd.Series(labels, index=held.index) == held["sentiment"]).mean()
    assert accuracy > 0.8
    assert ((scores >= -1.0) & (scores <= 1.0)).all()
    positive = [s for s, label in zip(scores, labels, strict=True) if label == "positive"]
    negative = [s for s, label in zip(scores, labels, strict=True) if label == "negative"]
    assert min(positive) > max(negative)


def blend_of(customer: pd.DataFrame) -> Blend:
    encoder = SentenceEncoder(quantized_minilm(), max_length=32, batch_size=16)
    head_rows = customer.iloc[:600]
    embeddings = encoder.embed(embedding_texts(head_rows["text"].tolist()))
    head = fit_embedding_head(embeddings, head_rows["sentiment"].tolist(), 4.0)
    return Blend(head, encoder.folder, 32, 16)


@pytest.mark.parametrize("kind", [VADER, TFIDF, TFIDF_MINILM])
def test_pyfunc_loads_and_answers_a_frame(
    kind: str, customer: pd.DataFrame, tmp_path: Path
) -> None:
    model = None
    if kind != VADER:
        model = fit_tfidf(customer["text"].tolist(), customer["sentiment"].tolist(), 4.0, 5000)
    blend = blend_of(customer) if kind == TFIDF_MINILM else None
    save_sentiment(kind, model, 0.05, tmp_path / "model", blend=blend)
    loaded = mlflow.pyfunc.load_model(str(tmp_path / "model"))
    out = loaded.predict(pd.DataFrame({"text": ["@Brand thanks so much!", "@Brand worst ever"]}))
    assert list(out.columns) == list(OUTPUTS)
    assert len(out) == 2 and set(out["sentiment"]) <= {"negative", "neutral", "positive"}
    assert out["sentiment_score"].between(-1.0, 1.0).all()
    assert out.loc[0, "sentiment_score"] > out.loc[1, "sentiment_score"]
    assert loaded.predict(pd.DataFrame({"text": pd.Series([], dtype=object)})).empty


def test_trained_model_reads_words_generated_tweets_never_use(customer: pd.DataFrame) -> None:
    # VADER's scores are features too: its lexicon covers wording the templates lack
    model = fit_tfidf(customer["text"].tolist(), customer["sentiment"].tolist(), 4.0, 5000)
    unseen = ["@Brand dreadful, appalling, a disgrace", "@Brand splendid, delightful, marvellous"]
    seen = " ".join(customer["text"]).lower()
    assert not any(word in seen for word in ("dreadful", "appalling", "splendid", "marvellous"))
    labels, scores = tfidf_predict(model, unseen)
    assert labels == ["negative", "positive"]
    assert scores[0] < 0 < scores[1]


def test_only_the_blend_kind_takes_an_embedding_head(
    customer: pd.DataFrame, tmp_path: Path
) -> None:
    model = fit_tfidf(customer["text"].tolist(), customer["sentiment"].tolist(), 4.0, 5000)
    with pytest.raises(ValueError, match="needs the embedding head"):
        save_sentiment(TFIDF_MINILM, model, 0.05, tmp_path / "blend")
    with pytest.raises(ValueError, match="needs the embedding head"):
        save_sentiment(TFIDF, model, 0.05, tmp_path / "tfidf", blend=blend_of(customer))
