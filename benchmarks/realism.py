"""How real does the synthetic data look? Train on generated tweets, test on real ones.

A TF-IDF + logistic-regression inbound/outbound baseline is trained on generated rows (handles
masked, as in training) and scored on a real twcs file. A high score means the generator's
customer and brand voices carry over to real Twitter text.

    .venv/bin/python benchmarks/realism.py [REAL_TWCS_CSV] [--rows 20000] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from sklearn.pipeline import make_pipeline

from tweetcare.core.text import clean_texts
from tweetcare.data.generator import generate

DEFAULT_REAL = Path(__file__).resolve().parents[1].parent / "shared/data/twcs_sample_1k.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("real", nargs="?", type=Path, default=DEFAULT_REAL, help="real twcs.csv")
    parser.add_argument("--rows", type=int, default=20_000, help="generated training rows")
    parser.add_argument("--seed", type=int, default=0, help="generator seed")
    args = parser.parse_args()
    if not args.real.is_file():
        sys.exit(
            f"real twcs file not found: {args.real}\n"
            "pass the path to a real twcs.csv (e.g. Kaggle's 'Customer Support on Twitter')"
        )

    train, _ = generate(args.rows, args.seed)
    real = pd.read_csv(args.real, dtype={"text": str, "inbound": str})
    real = real.dropna(subset=["text", "inbound"])
    y_real = real["inbound"].str.strip().str.lower().eq("true")

    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        LogisticRegression(C=4.0, max_iter=1000),
    )
    model.fit(clean_texts(train["text"]), train["inbound"])
    pred = model.predict(clean_texts(real["text"]))

    print(f"trained on {len(train):,} generated rows, scored on {len(real):,} real rows")
    print(f"accuracy   {accuracy_score(y_real, pred):.3f}")
    print(f"f1 inbound {f1_score(y_real, pred):.3f}")
    cm = confusion_matrix(y_real, pred, labels=[True, False])
    print("confusion (rows: true inbound/outbound, cols: predicted inbound/outbound)")
    print(pd.DataFrame(cm, index=["inbound", "outbound"], columns=["inbound", "outbound"]))


if __name__ == "__main__":
    main()
