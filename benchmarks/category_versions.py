"""Two registered versions of the category model side by side: speed at the stream's batch size
on generated and on real customer tweets, and agreement between them.

Shows what a cascade (a cheap first stage, MiniLM for the tweets it is unsure of) buys over MiniLM
alone, or one first stage over another, measured in one run on the same tweets. Both versions
come from the registry; each is loaded in its own process, so each runs its own packaged code.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/category_versions.py --versions 1,2
        [--rows 3000] [--real /work/shared/data/twcs_sample_1k.csv]
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from pathlib import Path

import mlflow
import pandas as pd

from tweetcare.core.params import load_params
from tweetcare.core.settings import get_settings
from tweetcare.data.generator import generate

BATCH = 256  # the stream's /analyze piece size
WARMUP = 32


def customer_texts(rows: int, seed: int) -> list[str]:
    tweets, _ = generate(rows, seed)
    return tweets.loc[tweets["inbound"], "text"].tolist()


def real_customer_texts(path: Path) -> list[str]:
    frame = pd.read_csv(path, dtype={"text": str})
    inbound = frame["inbound"].astype(str).str.lower() == "true"
    return frame.loc[inbound, "text"].fillna("").tolist()


def timed(model: object, texts: list[str]) -> tuple[pd.DataFrame, float]:
    model.predict(pd.DataFrame({"text": texts[:WARMUP]}))  # type: ignore[attr-defined]
    start = time.perf_counter()
    parts = [
        model.predict(pd.DataFrame({"text": texts[i : i + BATCH]}))  # type: ignore[attr-defined]
        for i in range(0, len(texts), BATCH)
    ]
    return pd.concat(parts, ignore_index=True), len(texts) / (time.perf_counter() - start)


def run_version(
    uri: str, tracking_uri: str, sets: dict[str, list[str]]
) -> dict[str, tuple[list[str], float]]:
    """In a fresh process: each set's categories and tweets/s for the model at ``uri``."""
    mlflow.set_tracking_uri(tracking_uri)
    model = mlflow.pyfunc.load_model(uri)
    out = {}
    for label, texts in sets.items():
        answers, rate = timed(model, texts)
        out[label] = (answers["category"].tolist(), rate)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", default="1,2", help="two registered versions, a,b")
    parser.add_argument("--rows", type=int, default=3000, help="generated tweets (all kinds)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--real", type=Path, help="a real twcs.csv: its customer tweets too")
    args = parser.parse_args()
    name = load_params().analysis.model_names["category"]
    tracking_uri = get_settings().mlflow_tracking_uri
    versions = [v.strip() for v in args.versions.split(",")]
    sets = {"generated": customer_texts(args.rows, args.seed)}
    if args.real:
        sets["real"] = real_customer_texts(args.real)
    spawn = multiprocessing.get_context("spawn")
    results = {}
    for v in versions:  # one at a time: each gets both cores
        with spawn.Pool(1) as pool:
            results[v] = pool.apply(run_version, (f"models:/{name}/{v}", tracking_uri, sets))
    print(f"{name}: tweets/s at batch {BATCH} (one process, this machine), same tweets per row")
    print(f"{'tweets':<11}{'n':>6}" + "".join(f"{'v' + v:>10}" for v in versions) + "  agree")
    for label, texts in sets.items():
        answers, rates = zip(*(results[v][label] for v in versions), strict=True)
        agree = sum(a == b for a, b in zip(answers[0], answers[-1], strict=True)) / len(texts)
        cells = "".join(f"{r:>10.0f}" for r in rates)
        print(f"{label:<11}{len(texts):>6}{cells}  {agree:.1%}")


if __name__ == "__main__":
    main()
