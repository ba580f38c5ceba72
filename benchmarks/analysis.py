"""How good are the served analysis models? Per-class figures on generated held-out data and on
a real twcs file, against the taxonomy's keyword rule, plus their throughput.

Scores the `@champion` versions of tweet-sentiment, tweet-category and tweet-entities from the
MLflow registry (the same pyfuncs the server loads) on freshly generated tweets with a seed the
pipeline never trained on. With --real, the category model and the keyword rule also run on a
real twcs file; with --real-labels (tweet_id,category; no tweet text), both are scored on it.
With --url, the running server's /analyze is timed end to end on the generated tweets.
With --real-sentiment (a CSV with `text` and `label` columns: negative, neutral, positive, e.g.
the airline tweets with `--real-text-column text --real-label-column airline_sentiment`), the
default sentiment model is scored on it, next to the same TF-IDF model trained on the file itself
with 5-fold cross-validation: what training on your own labelled tweets would give.

    .venv/bin/python benchmarks/analysis.py [--rows 6000] [--seed 2024]
        [--real /work/shared/data/twcs_sample_1k.csv --real-labels benchmarks/real_categories.csv]
        [--url http://127.0.0.1:3000]
        [--real-sentiment PATH [--real-text-column text --real-label-column label]]
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
import pandas as pd

from serving.analysis import needs_ticket
from training.analysis.metrics import class_report, span_report
from training.analysis.taxonomy import KeywordRule, load_taxonomy
from tweetcare.core.conversations import conversation_ids
from tweetcare.core.params import load_params
from tweetcare.core.schemas import CATEGORIES, LABEL_FLAG_COLUMN, SENTIMENTS, TICKET_FLAGS
from tweetcare.core.settings import get_settings
from tweetcare.data.generator import generate

THROUGHPUT_BATCH = 64
HTTP_CLIENTS = 4  # concurrent callers, like several stream micro-batches at once
HTTP_TEXTS = 512
EXAMPLES = 8
CV_FOLDS = 5


def load_champions() -> dict[str, Any]:
    names = load_params().analysis.model_names
    mlflow.set_tracking_uri(get_settings().mlflow_tracking_uri)
    try:
        return {
            role: mlflow.pyfunc.load_model(f"models:/{n}@champion") for role, n in names.items()
        }
    except mlflow.exceptions.MlflowException as err:
        sys.exit(f"{err}\nregister the analysis models first: dvc repro train_analysis")


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


def real_sentiment(model: Any, path: Path, text_column: str, label_column: str) -> None:
    """Macro-F1 of the default model on a labelled file, and of a model cross-validated on it."""
    from sklearn.model_selection import StratifiedKFold

    from training.analysis.sentiment import fit_tfidf, tfidf_predict

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = {text_column, label_column} - set(frame.columns)
    if missing:
        sys.exit(f"{path} lacks the column(s) {', '.join(sorted(missing))}")
    frame = frame[frame[label_column].isin(SENTIMENTS)].reset_index(drop=True)
    texts, truth = frame[text_column].tolist(), frame[label_column].tolist()
    predicted = model.predict(pd.DataFrame({"text": texts}))["sentiment"].tolist()
    print_report(
        f"sentiment on {path.name}, default model", class_report(truth, predicted, SENTIMENTS)
    )
    params = load_params().analysis
    folds = StratifiedKFold(CV_FOLDS, shuffle=True, random_state=params.seed)
    crossed = [""] * len(texts)
    for train, test in folds.split(texts, truth):
        fitted = fit_tfidf(
            [texts[i] for i in train],
            [truth[i] for i in train],
            params.sentiment_C,
            params.sentiment_max_features,
        )
        for i, label in zip(test, tfidf_predict(fitted, [texts[i] for i in test])[0], strict=True):
            crossed[i] = label
    print_report(
        f"sentiment on {path.name}, TF-IDF trained on it ({CV_FOLDS}-fold cross-validation)",
        class_report(truth, crossed, SENTIMENTS),
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
        "--seed", type=int, default=2024, help="generator seed (not the trained one)"
    )
    parser.add_argument("--real", type=Path, help="a real twcs.csv (no labels needed)")
    parser.add_argument("--real-labels", type=Path, help="tweet_id,category hand labels")
    parser.add_argument("--url", help="a running model server to time /analyze on")
    parser.add_argument("--real-sentiment", type=Path, help="labelled tweets (text,label)")
    parser.add_argument("--real-text-column", default="text", help="its text column")
    parser.add_argument("--real-label-column", default="label", help="its sentiment column")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.url:
        over_http(args.url, args.seed)
    models = load_champions()
    rule = KeywordRule.from_taxonomy(load_taxonomy())
    if args.rows > 0:
        on_generated(models, args.rows, args.seed, rule)
    if args.real is not None:
        if not args.real.is_file():
            sys.exit(f"real twcs file not found: {args.real}")
        on_real(models, args.real, args.real_labels, rule)
    if args.real_sentiment is not None:
        if not args.real_sentiment.is_file():
            sys.exit(f"labelled sentiment file not found: {args.real_sentiment}")
        real_sentiment(
            models["sentiment"], args.real_sentiment, args.real_text_column, args.real_label_column
        )


if __name__ == "__main__":
    main()
