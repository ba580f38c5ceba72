"""Train, score and log the three analysis models; one MLflow run each in `tweet-analysis`.

Val picks (VADER or the trained sentiment model), test reports. Every run carries the data
version tag, its metrics, confusion matrices as CSV artifacts and the pyfunc it registers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import mlflow
import numpy as np
import pandas as pd

from training.analysis import category as cat
from training.analysis import entities as ent
from training.analysis import sentiment as sen
from training.analysis.data import customer_tweets, english, sample
from training.analysis.encoder import SentenceEncoder, encoder_dir
from training.analysis.metrics import class_report, confusion_frame, span_report
from training.analysis.taxonomy import KeywordRule, Taxonomy
from training.datasets import log_training_data
from tweetcare.core.params import AnalysisParams
from tweetcare.core.schemas import CATEGORIES, SENTIMENTS, TICKET_FLAGS
from tweetcare.core.text import clean_text

EXPERIMENT = "tweet-analysis"
FLAG_CLASSES = ("", *TICKET_FLAGS)
EVAL_SPLITS = ("val", "test")


@dataclass
class ModelOutcome:
    """One trained model: where its pyfunc is, the run that logged it, its scores."""

    key: str  # sentiment, category or entities
    model_uri: str
    run_id: str
    report: dict[str, Any]
    confusions: dict[str, pd.DataFrame] = field(default_factory=dict)


def _flat(prefix: str, report: dict[str, Any]) -> dict[str, float]:
    """MLflow metrics from a class or span report: overall figures plus F1 per class."""
    out = {f"{prefix}_{k}": float(v) for k, v in report.items() if isinstance(v, int | float)}
    per = report.get("per_class") or report.get("per_label") or {}
    out |= {f"{prefix}_f1_{label or 'none'}": float(v["f1"]) for label, v in per.items()}
    return out


def _log(outcome_report: dict[str, Any], confusions: dict[str, pd.DataFrame]) -> None:
    for name, frame in confusions.items():
        mlflow.log_text(frame.to_csv(), f"confusion/{name}.csv")
    mlflow.log_dict(outcome_report, "report.json")


def train_sentiment(
    splits: dict[str, pd.DataFrame], params: AnalysisParams, tags: dict[str, str]
) -> ModelOutcome:
    """VADER versus TF-IDF logistic regression on English customer tweets; val decides."""
    train = english(customer_tweets(splits["train"]))
    evals = {
        s: sample(english(customer_tweets(splits[s])), params.eval_sample, params.seed)
        for s in EVAL_SPLITS
    }
    tfidf = sen.fit_tfidf(
        train["text"].tolist(),
        train["sentiment"].tolist(),
        params.sentiment_C,
        params.sentiment_max_features,
    )
    reports: dict[str, Any] = {}
    predictions: dict[tuple[str, str], list[str]] = {}
    for split, frame in evals.items():
        texts = frame["text"].tolist()
        predictions[(sen.VADER, split)] = sen.label_scores(
            sen.vader_scores(texts), params.vader_threshold
        )
        predictions[(sen.TFIDF, split)] = sen.tfidf_predict(tfidf, texts)[0]
        for kind in (sen.VADER, sen.TFIDF):
            truth = frame["sentiment"].tolist()
            reports[f"{kind}_{split}"] = class_report(truth, predictions[(kind, split)], SENTIMENTS)
    chosen = max(
        (sen.VADER, sen.TFIDF), key=lambda k: (reports[f"{k}_val"]["macro_f1"], k == sen.VADER)
    )
    confusions = {
        f"sentiment_{split}": confusion_frame(
            evals[split]["sentiment"].tolist(), predictions[(chosen, split)], SENTIMENTS
        )
        for split in EVAL_SPLITS
    }
    report = {"chosen": chosen, "train_rows": len(train), **reports}
    with mlflow.start_run(run_name="sentiment", tags={**tags, "analysis.model": "sentiment"}):
        log_training_data(splits, tags)
        mlflow.log_params({"chosen": chosen, "C": params.sentiment_C, "train_rows": len(train)})
        for key, value in reports.items():
            mlflow.log_metrics(_flat(key, value))
        _log(report, confusions)
        info = sen.log_sentiment(
            chosen, tfidf if chosen == sen.TFIDF else None, params.vader_threshold
        )
        run_id = mlflow.active_run().info.run_id
    return ModelOutcome("sentiment", info.model_uri, run_id, report, confusions)


def train_category(
    splits: dict[str, pd.DataFrame],
    params: AnalysisParams,
    taxonomy: Taxonomy,
    tags: dict[str, str],
) -> ModelOutcome:
    """MiniLM heads for category (opening tweets) and spam/chatter, beside two baselines: the
    taxonomy's keyword rule and TF-IDF logistic regression on the same rows."""
    train = sample(
        english(customer_tweets(splits["train"])), params.train_sample, params.seed, "flag"
    )
    evals = {
        s: sample(customer_tweets(splits[s]), params.eval_sample, params.seed, "flag")
        for s in EVAL_SPLITS
    }
    encoder = SentenceEncoder(encoder_dir(), params.encoder.max_length, params.encoder.batch_size)
    embed = {
        name: encoder.embed([clean_text(t) for t in frame["text"]], progress=f"MiniLM {name}")
        for name, frame in {"train": train, **evals}.items()
    }
    opening = train["opening"].to_numpy()
    category_head = cat.fit_head(
        embed["train"][opening], train.loc[opening, "category"], params.category_C
    )
    flag_head = cat.fit_head(embed["train"], train["flag"], params.flags_C)
    tfidf = sen.fit_tfidf(
        train.loc[opening, "text"].tolist(),
        train.loc[opening, "category"].tolist(),
        params.category_C,
        params.sentiment_max_features,
    )
    rule = KeywordRule.from_taxonomy(taxonomy)
    model = cat.CategoryModel(
        params.encoder.max_length,
        params.encoder.batch_size,
        params.language_min_letters,
        params.language_min_probability,
    )
    reports: dict[str, Any] = {"train_rows": len(train), "train_openings": int(opening.sum())}
    confusions: dict[str, pd.DataFrame] = {}
    for split, frame in evals.items():
        rows = (frame["opening"] & (frame["flag"] != "not_english")).to_numpy()
        texts, truth = frame.loc[rows, "text"].tolist(), frame.loc[rows, "category"].tolist()
        minilm = cat.head_predict(category_head, embed[split][rows])[0]
        reports[f"minilm_{split}"] = class_report(truth, minilm, CATEGORIES)
        reports[f"tfidf_{split}"] = class_report(
            truth, tfidf.predict([clean_text(t) for t in texts]).tolist(), CATEGORIES
        )
        reports[f"keyword_{split}"] = class_report(truth, rule.predict(texts), CATEGORIES)
        confusions[f"category_{split}"] = confusion_frame(truth, minilm, CATEGORIES)
        flags = _predicted_flags(model, flag_head, frame["text"].tolist(), embed[split])
        reports[f"flags_{split}"] = class_report(frame["flag"].tolist(), flags, FLAG_CLASSES)
        confusions[f"flags_{split}"] = confusion_frame(frame["flag"].tolist(), flags, FLAG_CLASSES)
    with mlflow.start_run(run_name="category", tags={**tags, "analysis.model": "category"}):
        log_training_data(splits, tags)
        mlflow.log_params(
            {"C": params.category_C, "flags_C": params.flags_C, "train_rows": len(train)}
            | {f"encoder_{k}": v for k, v in params.encoder.model_dump().items()}
        )
        for key, value in reports.items():
            if isinstance(value, dict):
                mlflow.log_metrics(_flat(key, value))
        _log(reports, confusions)
        info = cat.log_category(model, category_head, flag_head)
        run_id = mlflow.active_run().info.run_id
    return ModelOutcome("category", info.model_uri, run_id, reports, confusions)


def _predicted_flags(
    model: cat.CategoryModel, flag_head: Any, texts: list[str], embeddings: np.ndarray
) -> list[str]:
    """One flag per tweet as labelled (a language flag outranks spam/chatter), for scoring."""
    heads = cat.head_predict(flag_head, embeddings)[0]
    out = []
    for text, flag in zip(texts, heads, strict=True):
        language = cat.detect_language(
            text, model.language_min_letters, model.language_min_probability
        )
        out.append("not_english" if language != cat.ENGLISH else flag)
    return out


def train_entities(
    splits: dict[str, pd.DataFrame], params: AnalysisParams, tags: dict[str, str]
) -> ModelOutcome:
    """spaCy NER trained on generated spans, under the gazetteer/pattern ruler and PII rules."""
    train = sample(splits["train"], params.ner_train_sample, params.seed)
    nlp = ent.build_pipeline(params.min_city_population)
    losses = ent.train_ner(
        nlp,
        train["text"].tolist(),
        [json.loads(cell) for cell in train["entities"]],
        params.ner_epochs,
        params.ner_dropout,
        params.seed,
    )
    reports: dict[str, Any] = {"train_rows": len(train), "losses": losses}
    for split in EVAL_SPLITS:
        frame = sample(customer_tweets(splits[split]), params.eval_sample, params.seed)
        gold = [
            {(e["start"], e["end"], e["label"]) for e in json.loads(c)} for c in frame["entities"]
        ]
        texts = frame["text"].tolist()
        found = ent.extract(nlp, texts)
        reports[f"entities_{split}"] = span_report(
            gold, [{(e["start"], e["end"], e["label"]) for e in f} for f in found]
        )
        with nlp.select_pipes(disable=["ner"]):
            rules_only = ent.extract(nlp, texts)
        reports[f"rules_only_{split}"] = span_report(
            gold, [{(e["start"], e["end"], e["label"]) for e in f} for f in rules_only]
        )
    with mlflow.start_run(run_name="entities", tags={**tags, "analysis.model": "entities"}):
        log_training_data(splits, tags)
        mlflow.log_params(
            {
                "epochs": params.ner_epochs,
                "dropout": params.ner_dropout,
                "train_rows": len(train),
                "min_city_population": params.min_city_population,
            }
        )
        for key, value in reports.items():
            if isinstance(value, dict):
                mlflow.log_metrics(_flat(key, value))
        for epoch, loss in enumerate(losses):
            mlflow.log_metric("ner_loss", loss, step=epoch)
        _log(reports, {})
        info = ent.log_entities(nlp)
        run_id = mlflow.active_run().info.run_id
    return ModelOutcome("entities", info.model_uri, run_id, reports)
