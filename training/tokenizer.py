"""The sequence models' tokenizer: Hugging Face `tokenizers` WordPiece, trained on the train split.

It reads text already cleaned by `tweetcare.core.text.clean_text`, keeps the `<url>`, `<user>`
and `<brand>` masks whole, splits every emoji and punctuation mark into its own token, and pads
or truncates to `max_length`. Saved as one JSON file that travels inside each logged model, so
serving tokenizes exactly as training did. Imports only `tokenizers` and numpy: this module is
packaged with the model.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

PAD_TOKEN = "[PAD]"
UNK_TOKEN = "[UNK]"
MASK_TOKENS = ("<url>", "<user>", "<brand>")
# a mask token, a word, or any other single non-space character (emoji, punctuation)
_PIECES = Regex(r"<url>|<user>|<brand>|\w+|[^\w\s]")


def train_tokenizer(
    texts: Iterable[str], vocab_size: int, min_frequency: int, max_length: int
) -> Tokenizer:
    """Fit a WordPiece vocabulary on cleaned texts; padding and truncation are built in."""
    tokenizer = Tokenizer(models.WordPiece(unk_token=UNK_TOKEN))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split(_PIECES, behavior="isolated")]
    )
    tokenizer.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[PAD_TOKEN, UNK_TOKEN, *MASK_TOKENS],
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id(PAD_TOKEN), pad_token=PAD_TOKEN)
    return tokenizer


def save_tokenizer(tokenizer: Tokenizer, path: Path) -> Path:
    tokenizer.save(str(path))
    return path


def load_tokenizer(path: Path | str) -> Tokenizer:
    return Tokenizer.from_file(str(path))


def encode(tokenizer: Tokenizer, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Token ids padded to the longest text in the batch, and each text's true length (>= 1).

    An empty text would have length 0, which packed RNN sequences reject; it becomes one pad.
    """
    encodings = tokenizer.encode_batch(texts)
    ids = np.array([e.ids for e in encodings], dtype=np.int64).reshape(len(texts), -1)
    lengths = np.array([max(1, sum(e.attention_mask)) for e in encodings], dtype=np.int64)
    if ids.shape[1] == 0:
        ids = np.zeros((len(texts), 1), dtype=np.int64)
    return ids, lengths
