"""How hard and how real is the synthetic data? Three inbound/outbound scores side by side.

The pipeline's TF-IDF + logistic-regression baseline (``train.baseline`` in params.yaml, handles
masked as in training) is scored three ways:

- generated: trained on generated train conversations, tested on held-out generated ones (what
  the pipeline's comparison sees). 1.0 here means the data ranks no model.
- realism: the same model tested on a real twcs file. A high score means the generator's
  customer and brand voices carry over to real Twitter text.
- real: trained and tested on the real file itself, cross-validated by conversation: how hard
  real tweets are. The generated score should sit within ``TARGET_GAP`` of it.

    .venv/bin/python benchmarks/realism.py [REAL_TWCS_CSV] [--rows 20000] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GroupKFold, GroupShuffleSplit
from sklearn.pipeline import Pipeline

from training.baseline import build_baseline
from tweetcare.core.conversations import conversation_ids
from tweetcare.core.params import load_params
from tweetcare.core.text import clean_texts
from tweetcare.data.generator import generate

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REAL = ROOT.parent / "shared/data/twcs_sample_1k.csv"
TARGET_GAP = 0.02  # the bar: generated F1 within this of real-on-real F1
TEST_SHARE = 0.2
FOLDS = 5


def _baseline() -> Pipeline:
    return build_baseline(load_params(ROOT / "params.yaml").train.baseline)


def _conversations(frame: pd.DataFrame) -> np.ndarray:
    parents = pd.to_numeric(frame["in_response_to_tweet_id"], errors="coerce").astype("Int64")
    return conversation_ids(frame["tweet_id"].astype("int64"), parents).to_numpy()


def _scores(y: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    return f1_score(y, pred), accuracy_score(y, pred)


def generated_vs_real(
    generated: pd.DataFrame, real: pd.DataFrame, seed: int
) -> dict[str, tuple[float, float, int]]:
    """(F1 inbound, accuracy, test rows) for the generated split and for the real file."""
    text, y = np.asarray(clean_texts(generated["text"]), dtype=object), generated["inbound"]
    splitter = GroupShuffleSplit(n_splits=1, test_size=TEST_SHARE, random_state=seed)
    train, test = next(splitter.split(text, y, groups=_conversations(generated)))
    model = _baseline().fit(text[train].tolist(), y.to_numpy()[train])
    real_y = real["inbound"].to_numpy()
    return {
        "generated": (*_scores(y.to_numpy()[test], model.predict(text[test].tolist())), len(test)),
        "realism": (*_scores(real_y, model.predict(clean_texts(real["text"]))), len(real)),
    }


def real_cross_validated(real: pd.DataFrame) -> tuple[float, float, int]:
    """Out-of-fold predictions on the real file, folds by conversation."""
    text, y = np.asarray(clean_texts(real["text"]), dtype=object), real["inbound"].to_numpy()
    pred = np.zeros_like(y)
    for train, test in GroupKFold(n_splits=FOLDS).split(text, y, groups=_conversations(real)):
        pred[test] = _baseline().fit(text[train].tolist(), y[train]).predict(text[test].tolist())
    return (*_scores(y, pred), len(real))


def read_real(path: Path) -> pd.DataFrame:
    real = pd.read_csv(path, dtype={"text": str, "inbound": str})
    real = real.dropna(subset=["text", "inbound"])
    real["inbound"] = real["inbound"].str.strip().str.lower().eq("true")
    return real


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("real", nargs="?", type=Path, default=DEFAULT_REAL, help="real twcs.csv")
    parser.add_argument("--rows", type=int, default=20_000, help="generated rows")
    parser.add_argument("--seed", type=int, default=0, help="generator and split seed")
    args = parser.parse_args()
    if not args.real.is_file():
        sys.exit(
            f"real twcs file not found: {args.real}\n"
            "pass the path to a real twcs.csv (e.g. Kaggle's 'Customer Support on Twitter')"
        )

    generated, _ = generate(args.rows, args.seed)
    real = read_real(args.real)
    rows = generated_vs_real(generated, real, args.seed)
    rows["real"] = real_cross_validated(real)
    described = {
        "generated": "train generated, test generated (by conversation)",
        "realism": "train generated, test real",
        "real": f"train real, test real ({FOLDS}-fold by conversation)",
    }
    print(
        f"baseline on {args.rows:,} generated rows (seed {args.seed}) and {len(real):,} real rows"
    )
    print(f"{'score':<10} {'f1':>6} {'acc':>6} {'rows':>6}  setting")
    for name, (f1, acc, n) in rows.items():
        print(f"{name:<10} {f1:6.3f} {acc:6.3f} {n:6,}  {described[name]}")
    gap = rows["generated"][0] - rows["real"][0]
    verdict = "within" if abs(gap) <= TARGET_GAP else "outside"
    print(f"gap generated - real f1: {gap:+.3f} ({verdict} the ±{TARGET_GAP} target)")


if __name__ == "__main__":
    main()
