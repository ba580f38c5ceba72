"""The one sentence encoder: an int8 ONNX export of the packaged MiniLM, made offline."""

from __future__ import annotations

import numpy as np

from training.encoder import SentenceEncoder, minilm_dir, quantized_minilm

TWEETS = ["<brand> my phone is broken", "<user> sorry, dm us", "x" * 500, "refund please"]


def test_encoder_exports_offline_and_embeds_unit_vectors(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    encoder = SentenceEncoder(quantized_minilm(), max_length=16, batch_size=3)
    vectors = encoder.embed(TWEETS)
    assert vectors.shape == (4, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    # batched by length, answered in input order: one text alone embeds nearly the same (the
    # int8 activations take their scale from the batch, so not bit for bit)
    assert encoder.embed(TWEETS[3:])[0] @ vectors[3] > 0.95
    assert vectors[0] @ vectors[3] < 0.99


def test_int8_encoder_agrees_with_the_float_minilm() -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir()), local_files_only=True)
    model = AutoModel.from_pretrained(str(minilm_dir()), local_files_only=True).eval()
    tokens = tokenizer(TWEETS, padding=True, truncation=True, max_length=16, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**tokens).last_hidden_state
    mask = tokens["attention_mask"].unsqueeze(-1).float()
    reference = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1).numpy()
    vectors = SentenceEncoder(quantized_minilm(), max_length=16, batch_size=8).embed(TWEETS)
    cosines = (vectors * reference).sum(axis=1)
    assert cosines.min() > 0.85, cosines
