"""How real does the synthetic data look? The inbound baseline on generated and on real tweets.

A TF-IDF + logistic-regression inbound/outbound baseline (handles masked, as in training) is
scored three ways, side by side:

- generated -> generated: trained on 80% of the generated threads, tested on the other 20%. How
  hard the default data is: near 1.0 means the model comparison ranks nothing.
- real -> real: cross-validated on the real twcs file, folds by conversation. How hard real
  tweets are; the generated figure should sit within 0.02 of it.
- generated -> real (the realism score): trained on all generated rows, tested on the real file.
  A high score means the generator's customer and brand voices carry over to real Twitter.

With --airline (a file of real customer tweets, every one inbound, column `text`), it also prints
the share of them the generated-trained baseline calls inbound.

    .venv/bin/python benchmarks/realism.py [REAL_TWCS_CSV] [--rows 20000] [--seed 0]
        [--airline ../shared/data/airline_sentiment_dev.csv]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from sklearn.model_selection import GroupKFold, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline

from tweetcare.core.conversations import conversation_ids
from tweetcare.core.text import clean_texts
from tweetcare.data.generator import generate

SHARED = Path(__file__).resolve().parents[1].parent / "shared/data"
DEFAULT_REAL = SHARED / "twcs_sample_1k.csv"
TEST_SHARE = 0.2
FOLDS = 5
TARGET_GAP = 0.02


def baseline() -> Pipeline:
    return make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        LogisticRegression(C=4.0, max_iter=1000),
    )


def conversations(frame: pd.DataFrame) -> np.ndarray:
    parents = pd.to_numeric(frame["in_response_to_tweet_id"], errors="coerce").astype("Int64")
    ids = pd.to_numeric(frame["tweet_id"]).astype("int64")
    return conversation_ids(ids, parents).astype(str).to_numpy()


def generated_split(tweets: pd.DataFrame, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and test row masks, whole conversations on one side only."""
    convs = conversations(tweets)
    unique = np.unique(convs)
    rng = np.random.default_rng(seed)
    test = set(rng.choice(unique, size=max(1, int(len(unique) * TEST_SHARE)), replace=False))
    is_test = np.fromiter((c in test for c in convs), dtype=bool, count=len(convs))
    return ~is_test, is_test


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("real", nargs="?", type=Path, default=DEFAULT_REAL, help="real twcs.csv")
    parser.add_argument("--rows", type=int, default=20_000, help="generated training rows")
    parser.add_argument("--seed", type=int, default=0, help="generator seed")
    parser.add_argument("--airline", type=Path, help="real customer tweets (column `text`)")
    args = parser.parse_args()
    for path in (args.real, args.airline):
        if path is not None and not path.is_file():
            sys.exit(
                f"real file not found: {path}\n"
                "pass the path to a real twcs.csv (e.g. Kaggle's 'Customer Support on Twitter')"
            )

    generated, _ = generate(args.rows, args.seed)
    real = pd.read_csv(args.real, dtype={"text": str, "inbound": str})
    real = real.dropna(subset=["text", "inbound"]).reset_index(drop=True)
    y_real = real["inbound"].str.strip().str.lower().eq("true").to_numpy()
    x_real = clean_texts(real["text"])
    x_gen, y_gen = clean_texts(generated["text"]), generated["inbound"].to_numpy()

    train, test = generated_split(generated, args.seed)
    model = baseline().fit([x_gen[i] for i in np.flatnonzero(train)], y_gen[train])
    gen_gen = accuracy_score(y_gen[test], model.predict([x_gen[i] for i in np.flatnonzero(test)]))
    real_pred = cross_val_predict(
        baseline(), x_real, y_real, cv=GroupKFold(FOLDS), groups=conversations(real)
    )
    real_real = accuracy_score(y_real, real_pred)
    model = baseline().fit(x_gen, y_gen)
    pred = model.predict(x_real)
    gen_real = accuracy_score(y_real, pred)

    print(f"inbound baseline (TF-IDF + LR): {len(generated):,} generated rows (seed {args.seed}),")
    print(f"{len(real):,} real rows ({args.real.name})")
    print(f"  {'trained on -> tested on':<42}{'accuracy':>9}")
    print(f"  {'generated -> generated (20% held out)':<42}{gen_gen:>9.3f}")
    print(f"  {f'real -> real ({FOLDS}-fold, by conversation)':<42}{real_real:>9.3f}")
    print(f"  {'generated -> real (realism score)':<42}{gen_real:>9.3f}")
    gap = gen_gen - real_real
    verdict = "within" if abs(gap) <= TARGET_GAP else "outside"
    print(f"generated minus real: {gap:+.3f} ({verdict} the {TARGET_GAP} target)")
    print(f"realism f1 inbound {f1_score(y_real, pred):.3f}")
    cm = confusion_matrix(y_real, pred, labels=[True, False])
    print("realism confusion (rows: true inbound/outbound, cols: predicted inbound/outbound)")
    print(pd.DataFrame(cm, index=["inbound", "outbound"], columns=["inbound", "outbound"]))
    if args.airline is not None:
        airline = pd.read_csv(args.airline, dtype={"text": str}).dropna(subset=["text"])
        share = model.predict(clean_texts(airline["text"])).mean()
        print(
            f"{args.airline.name}: {share:.1%} of {len(airline):,} customer tweets called inbound"
        )


if __name__ == "__main__":
    main()
