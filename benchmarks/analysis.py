"""How good are the served analysis models? Per-class figures on generated held-out data and on
a real twcs file, against the taxonomy's keyword rule, plus their throughput.

Scores the `@champion` versions of tweet-sentiment, tweet-category and tweet-entities from the
MLflow registry (the same pyfuncs the server loads) on freshly generated tweets with a seed the
pipeline never trained on. With --real, the category model and the keyword rule also run on a
real twcs file; with --real-labels (tweet_id,category; no tweet text), both are scored on it.
With --url, the running server's /analyze is timed end to end on the generated tweets.

With --real-sentiment, a CSV of real customer tweets with a sentiment label (negative, neutral,
positive; other labels are counted and skipped) measures three things: the champion sentiment
model's macro-F1 on it, the share the inbound champion (`TWEETCARE_MODEL_NAME@champion`) calls
inbound (every row is a customer tweet; the target is 95%), and stratified k-fold cross-validated
macro-F1 of the platform's own sentiment trainer (`training.analysis.sentiment.fit_tfidf`, what
the train_analysis stage fits, with params.yaml's C and max_features) trained on the file itself,
beside VADER (the stage's other candidate) on the same folds. `--rows 0` skips generated data.

    .venv/bin/python benchmarks/analysis.py [--rows 6000] [--seed 2024]
        [--real /work/shared/data/twcs_sample_1k.csv --real-labels benchmarks/real_categories.csv]
        [--real-sentiment /work/shared/data/airline_sentiment_dev.csv [--text-column text]
         [--label-column airline_sentiment] [--folds 5]]
        [--url http://127.0.0.1:3000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import mlflow
import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold
from tqdm import tqdm

from serving.analysis import needs_ticket
from training.analysis import sentiment as sen
from training.analysis.taxonomy import KeywordRule, load_taxonomy
from training.metrics import class_report, confusion_frame, span_report
from tweetcare.core.conversations import conversation_ids
from tweetcare.core.params import AnalysisParams, load_params
from tweetcare.core.schemas import CATEGORIES, LABEL_FLAG_COLUMN, SENTIMENTS, TICKET_FLAGS
from tweetcare.core.settings import get_settings
from tweetcare.data.generator import generate

THROUGHPUT_BATCH = 64
HTTP_CLIENTS = 4  # concurrent callers, like several stream micro-batches at once
HTTP_TEXTS = 512
EXAMPLES = 8
INBOUND_TARGET = 0.95  # every real customer tweet is inbound: the inbound model must say so
ERRORS_PER_CLASS = 3  # the champion's misses shown for each true sentiment
ROLES = ("sentiment", "category", "entities")


def load_champions(roles: tuple[str, ...] = ROLES) -> dict[str, Any]:
    names = load_params().analysis.model_names
    mlflow.set_tracking_uri(get_settings().mlflow_tracking_uri)
    try:
        return {
            role: mlflow.pyfunc.load_model(f"models:/{n}@champion")
            for role, n in names.items()
            if role in roles
        }
    except mlflow.exceptions.MlflowException as err:
        sys.exit(f"{err}\nregister the analysis models first: dvc repro train_analysis")


def load_inbound() -> tuple[Any, str]:
    """The inbound champion the server loads (`TWEETCARE_MODEL_NAME@champion`) and its URI."""
    settings = get_settings()
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    uri = f"models:/{settings.inbound_model}@{settings.model_alias}"
    try:
        return mlflow.pyfunc.load_model(uri), uri
    except mlflow.exceptions.MlflowException as err:
        sys.exit(f"{err}\nregister the inbound model first: dvc repro train register")


def print_report(title: str, report: dict[str, Any]) -> None:
    print(
        f"\n{title}: macro-F1 {report['macro_f1']:.3f}, accuracy {report['accuracy']:.3f}, "
        f"{report['rows']} tweets"
    )
    print(f"  {'class':<12}{'precision':>10}{'recall':>8}{'F1':>8}{'support':>9}")
    for label, v in report["per_class"].items():
        print(
            f"  {label or '(none)':<12}{v['precision']:>10.3f}{v['recall']:>8.3f}"
            f"{v['f1']:>8.3f}{v['support']:>9}"
        )


def generated_held_out(rows: int, seed: int) -> pd.DataFrame:
    """Customer tweets of fresh generated data, with their labels and thread position."""
    tweets, labels = generate(rows, seed)
    frame = pd.concat([tweets, labels.drop(columns="tweet_id")], axis=1)
    frame["conversation_id"] = conversation_ids(
        frame["tweet_id"], frame["in_response_to_tweet_id"]
    ).astype(str)
    frame["opening"] = frame["tweet_id"].astype(str) == frame["conversation_id"]
    return frame[frame["inbound"]].reset_index(drop=True)


def predict_all(models: dict[str, Any], texts: list[str]) -> tuple[pd.DataFrame, float]:
    """The three models' outputs side by side, and the tweets/s they managed together."""
    start = time.perf_counter()
    parts = []
    for i in range(0, len(texts), THROUGHPUT_BATCH):
        frame = pd.DataFrame({"text": texts[i : i + THROUGHPUT_BATCH]})
        parts.append(
            pd.concat(
                [models[r].predict(frame) for r in ("sentiment", "category", "entities")], axis=1
            )
        )
    elapsed = time.perf_counter() - start
    return pd.concat(parts, ignore_index=True), len(texts) / elapsed


def on_generated(models: dict[str, Any], rows: int, seed: int, rule: KeywordRule) -> None:
    data = generated_held_out(rows, seed)
    print(f"generated held-out data: {rows:,} tweets (seed {seed}), {len(data):,} from customers")
    out, speed = predict_all(models, data["text"].tolist())
    english = (data[LABEL_FLAG_COLUMN] != "not_english").to_numpy()
    print_report(
        "sentiment (English customer tweets)",
        class_report(
            data["sentiment"][english].tolist(), out["sentiment"][english].tolist(), SENTIMENTS
        ),
    )
    openers = english & data["opening"].to_numpy()
    truth = data["category"][openers].tolist()
    print_report(
        "category, model (English tweets that open a thread)",
        class_report(truth, out["category"][openers].tolist(), CATEGORIES),
    )
    print_report(
        "category, keyword rule (same tweets)",
        class_report(truth, rule.predict(data["text"][openers].tolist()), CATEGORIES),
    )
    first_flag = [f.split(",")[0] for f in out["flags"]]
    print_report(
        "ticket flags (all customer tweets)",
        class_report(data[LABEL_FLAG_COLUMN].tolist(), first_flag, ("", *TICKET_FLAGS)),
    )
    gold = [{(e["start"], e["end"], e["label"]) for e in json.loads(c)} for c in data["entities"]]
    found = [{(e["start"], e["end"], e["label"]) for e in json.loads(c)} for c in out["entities"]]
    spans = span_report(gold, found)
    print(
        f"\nentities: F1 {spans['f1']:.3f} (precision {spans['precision']:.3f}, "
        f"recall {spans['recall']:.3f}, {spans['support']} spans)"
    )
    for label, v in spans["per_label"].items():
        print(
            f"  {label:<10} P {v['precision']:.3f}  R {v['recall']:.3f}  F1 {v['f1']:.3f}"
            f"  ({v['support']})"
        )
    decided = [
        needs_ticket(True, [f for f in flags.split(",") if f], c, s)
        for flags, c, s in zip(out["flags"], out["category"], out["sentiment"], strict=True)
    ]
    opening = data["opening"].to_numpy()
    agree = pd.Series(decided)[opening].to_numpy() == data["needs_ticket"][opening].to_numpy()
    print(f"\nneeds_ticket on thread openers: accuracy {agree.mean():.3f} ({opening.sum()} tweets)")
    print(
        f"throughput: {speed:.0f} customer tweets/s through the three models "
        f"(batches of {THROUGHPUT_BATCH}, {os.cpu_count()} CPUs)"
    )


def on_real(models: dict[str, Any], path: Path, labels: Path | None, rule: KeywordRule) -> None:
    real = pd.read_csv(path, dtype=str, keep_default_na=False)
    inbound = real[real["inbound"].str.lower() == "true"].reset_index(drop=True)
    frame = pd.DataFrame({"text": inbound["text"].tolist()})
    category = models["category"].predict(frame)
    sentiment = models["sentiment"].predict(frame)
    keyword = rule.predict(inbound["text"].tolist())
    print(f"\nreal file {path}: {len(inbound)} customer tweets")
    dist = (
        pd.DataFrame(
            {
                "model": category["category"].value_counts(),
                "keyword rule": pd.Series(keyword).value_counts(),
            }
        )
        .reindex(list(CATEGORIES))
        .fillna(0)
        .astype(int)
    )
    print("predicted categories:\n" + dist.to_string())
    print(f"model and keyword rule agree on {(category['category'] == keyword).mean():.1%}")
    print("sentiment:", category.assign(s=sentiment["sentiment"])["s"].value_counts().to_dict())
    flags = category["flags"].str.split(",").explode().replace("", pd.NA).dropna()
    print(
        "flags:",
        flags.value_counts().to_dict(),
        "languages:",
        category["language"].value_counts().head(5).to_dict(),
    )
    if labels is None:
        return
    gold = pd.read_csv(labels, dtype=str, comment="#").set_index("tweet_id")["category"]
    rows = inbound["tweet_id"].isin(gold.index).to_numpy()
    truth = gold.loc[inbound["tweet_id"][rows]].tolist()
    print_report(
        f"real, model vs hand labels ({labels.name})",
        class_report(truth, category["category"][rows].tolist(), CATEGORIES),
    )
    print_report(
        f"real, keyword rule vs hand labels ({labels.name})",
        class_report(truth, [k for k, r in zip(keyword, rows, strict=True) if r], CATEGORIES),
    )


def read_labelled(path: Path, text_column: str, label_column: str) -> pd.DataFrame:
    """`text` and `sentiment` of the rows labelled with one of SENTIMENTS (case and surrounding
    spaces ignored); the other rows, and empty texts, are counted and skipped."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in (text_column, label_column) if c not in raw.columns]
    if missing:
        sys.exit(f"{path} has no column {', '.join(missing)} (columns: {', '.join(raw.columns)})")
    labels = raw[label_column].str.strip().str.lower()
    texts = raw[text_column]
    known = labels.isin(SENTIMENTS)
    has_text = texts.str.strip() != ""
    print(f"\nreal sentiment file {path}: {len(raw):,} rows")
    if (~known).any():
        others = raw.loc[~known, label_column].value_counts().head(10).to_dict()
        print(f"  skipped {(~known).sum():,} rows labelled outside {SENTIMENTS}: {others}")
    if (known & ~has_text).any():
        print(f"  skipped {(known & ~has_text).sum():,} labelled rows with an empty text")
    keep = known & has_text
    frame = pd.DataFrame({"text": texts[keep], "sentiment": labels[keep]}).reset_index(drop=True)
    if frame.empty:
        sys.exit(f"{path}: no row labelled one of {SENTIMENTS} with a text")
    print(f"  scored: {len(frame):,} tweets, {frame['sentiment'].value_counts().to_dict()}")
    return frame


def predict_in_batches(model: Any, texts: list[str], batch: int = 1024) -> pd.DataFrame:
    return pd.concat(
        [
            model.predict(pd.DataFrame({"text": texts[i : i + batch]}))
            for i in range(0, len(texts), batch)
        ],
        ignore_index=True,
    )


def on_real_sentiment(
    sentiment_model: Any,
    frame: pd.DataFrame,
    folds: int,
    seed: int,
    params: AnalysisParams,
) -> None:
    """The champion sentiment and inbound models on a labelled real file, then k-fold CV of the
    platform's sentiment trainer fitted on that file."""
    texts, truth = frame["text"].tolist(), frame["sentiment"].tolist()

    start = time.perf_counter()
    champion = predict_in_batches(sentiment_model, texts)["sentiment"].tolist()
    print_report(
        f"sentiment, champion model on the real file ({time.perf_counter() - start:.1f}s)",
        class_report(truth, champion, SENTIMENTS),
    )
    confusion = confusion_frame(truth, champion, SENTIMENTS)
    confusion.index = [f"true {c}" for c in confusion.index]
    print("  confusion (rows true, columns predicted):")
    print("  " + confusion.to_string().replace("\n", "\n  "))
    print("  some misses:" if (confusion.to_numpy().trace() < len(truth)) else "  no misses")
    for label in SENTIMENTS:
        misses = [
            (p, t)
            for t, y, p in zip(texts, truth, champion, strict=True)
            if y == label and p != label
        ][:ERRORS_PER_CLASS]
        for predicted, text in misses:
            print(f"    {label} -> {predicted}: {' '.join(text.split())[:110]}")

    inbound_model, uri = load_inbound()
    start = time.perf_counter()
    answers = predict_in_batches(inbound_model, texts)
    inbound = answers["inbound"].astype(bool).to_numpy()
    share = float(inbound.mean()) if len(inbound) else 0.0
    verdict = "meets" if share >= INBOUND_TARGET else "MISSES"
    print(
        f"\ninbound, {uri} on the same tweets ({time.perf_counter() - start:.1f}s): "
        f"{share:.1%} called inbound ({int(inbound.sum()):,} of {len(inbound):,}), "
        f"{verdict} the {INBOUND_TARGET:.0%} target (every row is a customer tweet)"
    )
    for text in [t for t, i in zip(texts, inbound, strict=True) if not i][:ERRORS_PER_CLASS]:
        print(f"    called outbound: {' '.join(text.split())[:110]}")

    cross_validate(texts, truth, champion, folds, seed, params)


def cross_validate(
    texts: list[str],
    truth: list[str],
    champion: list[str],
    folds: int,
    seed: int,
    params: AnalysisParams,
) -> None:
    """Stratified k-fold: the platform's TF-IDF sentiment trainer (`sen.fit_tfidf`, as the
    train_analysis stage calls it) fitted on each fold's train part, scored on its test part;
    VADER (the stage's untrained candidate) and the champion on the same test parts."""
    smallest = min(pd.Series(truth).value_counts())
    if folds < 2 or smallest < folds:
        print(f"\ncross-validation skipped: {folds} folds, smallest class has {smallest} rows")
        return
    text_array, truth_array = np.asarray(texts, dtype=object), np.asarray(truth)
    vader = np.asarray(sen.label_scores(sen.vader_scores(texts), params.vader_threshold))
    champion_array = np.asarray(champion)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores: dict[str, list[float]] = {"tfidf": [], "vader": [], "champion": []}
    start = time.perf_counter()
    for train, test in tqdm(
        splitter.split(text_array, truth_array), total=folds, desc="folds", unit="fold"
    ):
        model = sen.fit_tfidf(
            text_array[train].tolist(),
            truth_array[train].tolist(),
            params.sentiment_C,
            params.sentiment_max_features,
        )
        predicted = sen.tfidf_predict(model, text_array[test].tolist())[0]
        y = truth_array[test].tolist()
        scores["tfidf"].append(class_report(y, predicted, SENTIMENTS)["macro_f1"])
        scores["vader"].append(class_report(y, vader[test].tolist(), SENTIMENTS)["macro_f1"])
        scores["champion"].append(
            class_report(y, champion_array[test].tolist(), SENTIMENTS)["macro_f1"]
        )
    print(
        f"\nsentiment, {folds}-fold stratified cross-validation on the real file "
        f"(seed {seed}, {time.perf_counter() - start:.1f}s), macro-F1 mean ± std over folds:"
    )
    what = {
        "tfidf": f"trained on each fold: training.analysis.sentiment.fit_tfidf "
        f"(C {params.sentiment_C}, max_features {params.sentiment_max_features})",
        "vader": f"VADER, untrained (threshold {params.vader_threshold})",
        "champion": "champion model, trained on generated tweets only",
    }
    for key, values in scores.items():
        folds_text = " ".join(f"{v:.3f}" for v in values)
        print(
            f"  {np.mean(values):.3f} ± {np.std(values):.3f}  {what[key]}\n"
            f"                 folds: {folds_text}"
        )


def over_http(url: str, seed: int) -> None:
    """Tweets/s through the server's /analyze: inbound for all, the analysis for customers."""
    tweets, _ = generate(HTTP_TEXTS, seed)
    texts = tweets["text"].tolist()
    pieces = [texts[i : i + THROUGHPUT_BATCH] for i in range(0, len(texts), THROUGHPUT_BATCH)]
    with httpx.Client(timeout=600) as client:
        client.post(f"{url}/analyze", json={"texts": texts[:8]}).raise_for_status()  # warm up
        start = time.perf_counter()
        with ThreadPoolExecutor(HTTP_CLIENTS) as pool:
            answers = list(
                pool.map(lambda p: client.post(f"{url}/analyze", json={"texts": p}), pieces)
            )
        elapsed = time.perf_counter() - start
    for answer in answers:
        answer.raise_for_status()
    customers = sum(a["inbound"] for answer in answers for a in answer.json())
    print(
        f"/analyze at {url}: {len(texts) / elapsed:.0f} tweets/s ({customers} of {len(texts)} "
        f"were customer tweets; {HTTP_CLIENTS} clients, {THROUGHPUT_BATCH} texts per request)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=6000, help="generated held-out tweets (0: skip)"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=2024,
        help="generator seed (not the trained one); shuffles the CV folds too",
    )
    parser.add_argument("--real", type=Path, help="a real twcs.csv (no labels needed)")
    parser.add_argument("--real-labels", type=Path, help="tweet_id,category hand labels")
    parser.add_argument(
        "--real-sentiment",
        type=Path,
        help="a CSV of real customer tweets with a sentiment label (negative/neutral/positive)",
    )
    parser.add_argument("--text-column", default="text", help="its tweet text column")
    parser.add_argument(
        "--label-column", default="airline_sentiment", help="its sentiment label column"
    )
    parser.add_argument(
        "--folds", type=int, default=5, help="cross-validation folds on --real-sentiment"
    )
    parser.add_argument("--url", help="a running model server to time /analyze on")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.real_sentiment is not None and not args.real_sentiment.is_file():
        sys.exit(f"real sentiment file not found: {args.real_sentiment}")
    if args.url:
        over_http(args.url, args.seed)
    generated_or_real = args.rows > 0 or args.real is not None
    models = load_champions(ROLES if generated_or_real else ("sentiment",))
    if generated_or_real:
        rule = KeywordRule.from_taxonomy(load_taxonomy())
    if args.rows > 0:
        on_generated(models, args.rows, args.seed, rule)
    if args.real is not None:
        if not args.real.is_file():
            sys.exit(f"real twcs file not found: {args.real}")
        on_real(models, args.real, args.real_labels, rule)
    if args.real_sentiment is not None:
        frame = read_labelled(args.real_sentiment, args.text_column, args.label_column)
        on_real_sentiment(models["sentiment"], frame, args.folds, args.seed, load_params().analysis)


if __name__ == "__main__":
    main()
