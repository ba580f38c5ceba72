"""How good are the models on real customers, before and after the team's own real data joins?

Runs the documented real-data path in a scratch folder, on the real files a user brings
(`../shared/data` here) and the team's hand labels (`benchmarks/real_labels`, ids only):

1. the default generated data (`tweetcare data generate`), split and featurized by the pipeline;
2. **before**: the `train_analysis` stage on it alone, as `make demo` trains;
3. the real labelled sets brought in with the product's own command, `tweetcare data labels
   import` (the crowd-labelled airline tweets for sentiment; the hand labels for sentiment,
   category and needs_ticket);
4. **after**: the same stage with those sets (`data.labelled`), which trains on each set's
   training conversations and holds out the rest (`analysis.labelled_heldout_share`);
5. both model sets scored on the held-out conversations, which never trained either of them:
   sentiment macro-F1 (airline crowd labels, hand labels), category macro-F1 over every inbound
   hand-labelled tweet, needs_ticket accuracy of the served rule, the priority mix the routing
   rules give against the share of truly negative tweets, and the three models' tweets/s on the
   demo's generated customer tweets (batches of 256, side by side in this run);
6. the inbound model (TF-IDF baseline family) trained on generated data, and on real history
   (the airline threads' `inbound` flags, held-out threads excluded), scored on held-out threads
   and on the 1,000 real twcs rows.

    .venv/bin/python benchmarks/real_quality.py [--shared ../shared/data]
        [--labels benchmarks/real_labels] [--work DIR] [--rows 200000] [--history 20000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import yaml
from rich.console import Console
from rich.table import Table

from pipelines.featurize import featurize
from pipelines.split import split
from pipelines.train_analysis import train_analysis
from serving.analysis import needs_ticket
from training import embedding_cache
from training.analysis.labelled import heldout_mask
from training.baseline import train_baseline
from training.metrics import class_report
from tweetcare.core.conversations import conversation_ids
from tweetcare.core.params import load_params
from tweetcare.core.schemas import CATEGORIES, SENTIMENTS, Analysis
from tweetcare.core.text import clean_texts
from tweetcare.data.generator import write_dataset
from tweetcare.data.labelled import text_key
from tweetcare.tickets.routing import load_routing

REPO = Path(__file__).resolve().parent.parent
SPEED_BATCH = 256
SPEED_TWEETS = 2048
SPEED_ROUNDS = 3
HIGH_PRIORITIES = ("urgent", "high")
console = Console(width=110)


def hand_labels(shared: Path, labels: Path) -> pd.DataFrame:
    """The hand labels joined to their texts: tweet_id, conversation_id, text, category,
    sentiment, needs_ticket, source. Texts come from the user's files, never from the repo."""
    twcs = pd.read_csv(shared / "twcs_sample_1k.csv", dtype=str, keep_default_na=False)
    twcs["conversation_id"] = "twcs-" + conversation_ids(
        twcs["tweet_id"], twcs["in_response_to_tweet_id"].replace("", None)
    ).astype(str)
    sample = pd.read_csv(labels / "twcs_sample.csv", dtype=str).merge(
        twcs[["tweet_id", "conversation_id", "text"]], on="tweet_id", validate="one_to_one"
    )
    threads = read_threads(shared)
    threads["tweet_id"] = threads["conversation_id"] + ":" + threads["turn"]
    threads["conversation_id"] = "air-" + threads["conversation_id"]
    airline = pd.read_csv(labels / "airline_threads.csv", dtype=str).merge(
        threads[["tweet_id", "conversation_id", "text"]], on="tweet_id", validate="one_to_one"
    )
    return pd.concat(
        [sample.assign(source="twcs_sample"), airline.assign(source="airline_threads")],
        ignore_index=True,
    )


def read_threads(shared: Path) -> pd.DataFrame:
    return pd.read_csv(shared / "twcs_airline_conversations.csv", dtype=str, keep_default_na=False)


def import_set(source: Path, task: str, name: str, params: Path, *options: str) -> None:
    """`tweetcare data labels import`, the command a user runs (no DVC file in the scratch)."""
    command = [
        str(Path(sys.executable).parent / "tweetcare"),
        "data", "labels", "import", str(source), "--task", task, "--name", name,
        "--params", str(params), "--dvc-file", "",
        "--report-dir", str(params.parent / "reports"), *options,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"import of {source} as {task}/{name} failed:\n{done.stdout}{done.stderr}")
    console.print(f"imported {task}/{name}")


def workspace(work: Path, rows: int, seed: int) -> Path:
    """Scratch folder with the generated data, its features and a params.yaml pointing there."""
    data = work / "data"
    if not (data / "twcs.csv").is_file():
        console.print(f"generating {rows:,} tweets (seed {seed}) ...")
        write_dataset(data, rows, seed, lambda n: None)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["data"] |= {
        "raw": str(data / "twcs.csv"),
        "labels": str(data / "labels.csv"),
        "labelled": str(data / "labelled"),
    }
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    features = work / "features"
    if not (features / "train.parquet").is_file():
        loaded = load_params(work / "params.yaml")
        split(data / "twcs.csv", data / "labels.csv", loaded.split, work / "splits")
        featurize(work / "splits", loaded.train.mask_handles, features)
    return work / "params.yaml"


def import_real_sets(shared: Path, hand: pd.DataFrame, work: Path, params: Path) -> None:
    """The airline crowd labels and the hand labels, through the product's import command."""
    import_set(
        shared / "airline_sentiment_dev.csv", "sentiment", "airline", params,
        "--label-column", "airline_sentiment", "--id-column", "tweet_id", "--drop-conflicts",
    )  # fmt: skip
    for task in ("sentiment", "category", "needs_ticket"):
        source = work / f"hand_{task}.csv"
        agreed, dropped = one_label_per_text(hand, task)
        agreed.to_csv(source, index=False)
        console.print(f"hand {task}: {dropped} tweets left out (one text, labels tied)")
        import_set(
            source, task, "hand", params, "--label-column", task,
            "--id-column", "tweet_id", "--conversation-column", "conversation_id",
        )  # fmt: skip


def one_label_per_text(hand: pd.DataFrame, task: str) -> tuple[pd.DataFrame, int]:
    """The import refuses one text with two labels (a labelled set must not contradict
    itself): repeated short texts ("Thank you!") take their majority label; ties are left out."""
    key = hand["text"].map(text_key)
    counts = hand.groupby([key, hand[task]]).size().rename("n").reset_index()
    counts.columns = ["key", "label", "n"]
    best = counts.sort_values("n", ascending=False).groupby("key")
    top = best.head(1).set_index("key")
    second = best.nth(1).set_index("key")["n"].reindex(top.index).fillna(0)
    winners = top.loc[top["n"] > second, "label"]
    agreed = hand.assign(**{task: key.map(winners)}).dropna(subset=[task])
    return agreed, len(hand) - len(agreed)


def train(work: Path, params_file: Path, name: str, labelled: bool) -> dict[str, Any]:
    """The train_analysis stage into its own MLflow store; the three models it logged."""
    params = load_params(params_file)
    tracking = f"sqlite:///{work / name / 'mlflow.db'}"
    (work / name).mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    outcomes, _ = train_analysis(
        work / "features",
        params.data.labels,
        params.analysis,
        tracking,
        work / name / "analysis",
        params.register_.analysis,
        labelled=params.data.labelled if labelled else None,
        labelled_weights=params.data.labelled_weights,
    )
    console.print(f"{name}: trained in {time.perf_counter() - started:.0f}s")
    mlflow.set_tracking_uri(tracking)
    return {key: mlflow.pyfunc.load_model(o.model_uri) for key, o in outcomes.items()}


def predict(models: dict[str, Any], texts: list[str]) -> pd.DataFrame:
    frames = []
    for start in range(0, len(texts), SPEED_BATCH):
        batch = pd.DataFrame({"text": texts[start : start + SPEED_BATCH]})
        frames.append(
            pd.concat([models[k].predict(batch) for k in ("sentiment", "category")], axis=1)
        )
    return pd.concat(frames, ignore_index=True)


def tweets_per_second(models: dict[str, Any], texts: list[str]) -> float:
    """The three models one after another on each batch, as the model server calls them, from
    a cold embedding cache (no text read in an earlier measurement is free)."""
    embedding_cache.clear()
    started = time.perf_counter()
    for start in range(0, len(texts), SPEED_BATCH):
        batch = pd.DataFrame({"text": texts[start : start + SPEED_BATCH]})
        for key in ("sentiment", "category", "entities"):
            models[key].predict(batch)
    return len(texts) / (time.perf_counter() - started)


def side_by_side(model_sets: dict[str, dict[str, Any]], texts: list[str]) -> dict[str, float]:
    """Each set's tweets/s in alternating rounds, so a busy machine slows them alike; the
    median of SPEED_ROUNDS rounds."""
    runs: dict[str, list[float]] = {name: [] for name in model_sets}
    for _ in range(SPEED_ROUNDS):
        for name, models in model_sets.items():
            runs[name].append(tweets_per_second(models, texts))
    return {name: float(np.median(values)) for name, values in runs.items()}


def priorities(answers: pd.DataFrame, texts: list[str]) -> list[str]:
    """The routing rules' priority for each ticket-opening answer (config/routing.yaml)."""
    rules = load_routing(REPO / "config" / "routing.yaml")
    out = []
    for row, text in zip(answers.itertuples(index=False), texts, strict=True):
        analysis = Analysis(
            inbound=True,
            inbound_probability=1.0,
            sentiment=row.sentiment,
            sentiment_score=float(np.clip(row.sentiment_score, -1, 1)),
            category=row.category,
            needs_ticket=True,
            masked_text=text,
        )
        out.append(rules.priority_for(analysis, text))
    return out


def score(models: dict[str, Any], hand: pd.DataFrame, airline: pd.DataFrame) -> dict[str, float]:
    """Every quality figure of one model set on the held-out real tweets."""
    airline_out = predict(models, airline["text"].tolist())
    out = predict(models, hand["text"].tolist())
    flags = [[f for f in str(v).split(",") if f] for v in out["flags"]]
    decided = [
        needs_ticket(True, f, c, s)
        for f, c, s in zip(flags, out["category"], out["sentiment"], strict=True)
    ]
    truth_ticket = (hand["needs_ticket"] == "yes").to_numpy()
    ticket_rows = np.asarray(decided)
    levels = priorities(out[ticket_rows].reset_index(drop=True), hand["text"][ticket_rows].tolist())
    return {
        "sentiment macro-F1, airline crowd labels": class_report(
            airline["airline_sentiment"].tolist(), airline_out["sentiment"].tolist(), SENTIMENTS
        )["macro_f1"],
        "sentiment macro-F1, hand labels": class_report(
            hand["sentiment"].tolist(), out["sentiment"].tolist(), SENTIMENTS
        )["macro_f1"],
        "category macro-F1, hand labels (every inbound)": class_report(
            hand["category"].tolist(), out["category"].tolist(), CATEGORIES
        )["macro_f1"],
        "category accuracy, hand labels": float((hand["category"] == out["category"]).mean()),
        "needs_ticket accuracy, hand labels": float((ticket_rows == truth_ticket).mean()),
        "tickets high/urgent share": float(np.isin(levels, HIGH_PRIORITIES).mean())
        if levels
        else 0.0,
        "tickets truly negative share": float(
            (hand.loc[ticket_rows, "sentiment"] == "negative").mean()
        )
        if ticket_rows.any()
        else 0.0,
    }


def inbound_figures(work: Path, shared: Path, history: int, seed: int) -> dict[str, float]:
    """The baseline inbound family trained on generated data, then on real history (threads not
    held out), both scored on held-out real threads and the 1,000 real twcs rows. The threads'
    redacted handles read as twcs has them (a brand's name, a customer's number), so cleaning
    masks them as it masks every real tweet's."""
    params = load_params(work / "params.yaml")
    threads = read_threads(shared)
    threads["text"] = (
        threads["text"]
        .str.replace("__company__", "@Delta", regex=False)
        .str.replace("__cust__", "@123456", regex=False)
    )
    held = heldout_mask(threads["conversation_id"], params.analysis.labelled_heldout_share, seed)
    sample = pd.read_csv(shared / "twcs_sample_1k.csv", dtype=str, keep_default_na=False)
    tests = {
        "held-out airline threads": threads[held].sample(
            n=min(4000, int(held.sum())), random_state=seed
        ),
        "twcs_sample_1k": sample,
    }
    generated = pd.read_parquet(work / "features" / "train.parquet")
    conversations = threads.loc[~held, "conversation_id"].drop_duplicates()
    keep = conversations.sample(n=min(history, len(conversations)), random_state=seed)
    real = threads[~held & threads["conversation_id"].isin(keep)]
    real = pd.DataFrame(
        {"clean_text": clean_texts(real["text"].tolist()), "inbound": real["inbound"] == "True"}
    )
    models = {
        "generated": train_baseline(generated, params.train.baseline),
        "real history": train_baseline(real, params.train.baseline),
    }
    out = {}
    for model_name, model in models.items():
        for test_name, frame in tests.items():
            truth = frame["inbound"].str.lower() == "true"
            found = model.predict(clean_texts(frame["text"].tolist())).astype(bool)
            out[f"inbound accuracy, {test_name} ({model_name})"] = float((found == truth).mean())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--labels", type=Path, default=REPO / "benchmarks" / "real_labels")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (kept)")
    parser.add_argument("--rows", type=int, default=None, help="generated tweets (params)")
    parser.add_argument("--history", type=int, default=20000, help="real threads for inbound")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    defaults = load_params(REPO / "params.yaml")
    rows = args.rows or defaults.generate.rows
    work = args.work or Path(tempfile.mkdtemp(prefix="tweetcare-real-quality-"))
    work.mkdir(parents=True, exist_ok=True)
    params = workspace(work, rows, defaults.generate.seed)
    share, seed = defaults.analysis.labelled_heldout_share, defaults.analysis.seed
    hand = hand_labels(args.shared, args.labels)
    airline = pd.read_csv(args.shared / "airline_sentiment_dev.csv", dtype=str)
    airline_held = airline[heldout_mask(airline["tweet_id"], share, seed)]
    hand_held = hand[heldout_mask(hand["conversation_id"], share, seed)].reset_index(drop=True)
    shutil.rmtree(work / "data" / "labelled", ignore_errors=True)
    import_real_sets(args.shared, hand, work, params)
    demo = pd.read_parquet(work / "features" / "test.parquet")
    demo_texts = demo.loc[demo["inbound"].astype(bool), "text"].tolist()[:SPEED_TWEETS]
    figures, model_sets = {}, {}
    for name, labelled in (("before", False), ("after", True)):
        model_sets[name] = train(work, params, name, labelled)
        figures[name] = score(model_sets[name], hand_held, airline_held)
    for name, speed in side_by_side(model_sets, demo_texts).items():
        figures[name]["tweets/s, three models, demo mix @256"] = speed
    inbound = inbound_figures(work, args.shared, args.history, seed)
    table = Table(
        title=f"real tweets that never trained: {len(hand_held)} hand-labelled (held-out "
        f"threads), {len(airline_held)} airline crowd-labelled"
    )
    table.add_column("figure")
    table.add_column("before (generated only)", justify="right")
    table.add_column("after (+ real labelled sets)", justify="right")
    for key in figures["before"]:
        table.add_row(key, f"{figures['before'][key]:.3f}", f"{figures['after'][key]:.3f}")
    console.print(table)
    for key, value in inbound.items():
        console.print(f"{key}: {value:.3f}")
    console.print(f"scratch folder: {work}")


if __name__ == "__main__":
    main()
