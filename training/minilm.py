"""Training the transformer: the packaged MiniLM encoder, frozen, and a logistic head on top.

On a 2-core CPU the (int8) encoder reads only ~300 tweets/s, so fine-tuning its 22M weights is out
of reach within the time budget; a frozen encoder with a head trained on a capped sample of the
train split (the train profile's `transformer_train_sample`) is the affordable variant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from training.encoder import SentenceEncoder, quantized_minilm
from tweetcare.core.errors import UserError
from tweetcare.core.params import TransformerParams

HEAD_MAX_ITER = 1000


@dataclass
class MiniLMFit:
    encoder: SentenceEncoder
    weights: np.ndarray
    bias: float
    train_rows: int


def fit_minilm(cleaned: list[str], labels: np.ndarray, params: TransformerParams) -> MiniLMFit:
    """Embed the cleaned training texts (the caller's `stratified_rows` sample) with frozen MiniLM
    and fit the head on them."""
    labels = np.asarray(labels).astype(int)
    if len(np.unique(labels)) < 2:
        raise UserError("the transformer's training sample holds one class only; raise its size")
    encoder = SentenceEncoder(quantized_minilm(), params.max_length, params.batch_size)
    embeddings = encoder.embed(cleaned, progress="MiniLM train")
    head = LogisticRegression(C=params.head_C, max_iter=HEAD_MAX_ITER)
    head.fit(embeddings, labels)
    return MiniLMFit(encoder, head.coef_[0].copy(), float(head.intercept_[0]), len(labels))
