"""The MiniLM inbound contender: a head on the shared encoder, learning, pyfunc round trip."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from tests.fixtures.bento import synthetic_features
from training.families import fit_family
from training.pyfunc import OUTPUT_COLUMNS
from tweetcare.core.params import BaselineParams, TrainParams, TransformerParams

TINY = TrainParams(
    mask_handles=True,
    baseline=BaselineParams(C=4.0, max_features=5000, ngram_max=2, min_df=1),
    transformer=TransformerParams(max_length=24, batch_size=32, train_sample=60, head_C=10.0),
)


def test_minilm_head_learns_and_round_trips_as_pyfunc(tmp_path: Path) -> None:
    splits = {"train": synthetic_features(120), "val": synthetic_features(10, seed=1)}
    model = fit_family("minilm", splits, TINY, mask_handles=True)
    test = synthetic_features(40, seed=2)
    in_memory = model.inbound_probability(test["text"].tolist())
    assert ((in_memory >= 0.5) == test["inbound"].to_numpy()).mean() > 0.9
    assert model.metrics["transformer_train_rows"] == 60

    model.save(tmp_path / "model")
    loaded = mlflow.pyfunc.load_model(str(tmp_path / "model"))
    out = loaded.predict(pd.DataFrame({"text": test["text"]}))
    assert tuple(out.columns) == OUTPUT_COLUMNS
    np.testing.assert_allclose(out["inbound_probability"], in_memory, atol=1e-5)
    # the encoder travels with the model: its int8 graph and its own tokenizer are artifacts
    encoder_files = {p.name for p in (tmp_path / "model" / "artifacts").rglob("*")}
    assert {"model.onnx", "tokenizer.json", "head.json"} <= encoder_files


def test_unknown_family_is_a_user_error() -> None:
    from tweetcare.core.errors import UserError

    with pytest.raises(UserError, match="unknown model family 'bert'"):
        fit_family("bert", {"train": synthetic_features(10)}, TINY, mask_handles=True)
