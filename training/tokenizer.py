"""The sequence models' tokenizer: Hugging Face `tokenizers` WordPiece, fitted on the train split.

It reads text already cleaned by `tweetcare.core.text.clean_text`, keeps the `<url>`, `<user>`
and `<brand>` masks whole, splits every emoji and punctuation mark into its own token, and pads
or truncates to `max_length`. Saved as one JSON file that travels inside each logged model, so
serving tokenizes exactly as training did. Imports only `tokenizers` and numpy: this module is
packaged with the model.

The vocabulary is counted here rather than by `tokenizers`' WordPieceTrainer: that trainer breaks
ties between equally frequent merges in hash-map order, so two trainings on the same texts gave
different vocabularies, and so different sequence models and champions (huggingface/tokenizers
#1794). Here it is every character (alone and as a `##` continuation) and then whole words by
(count, word), which is the same on every run; a word outside it splits into its longest known
prefix and characters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

PAD_TOKEN = "[PAD]"
UNK_TOKEN = "[UNK]"
MASK_TOKENS = ("<url>", "<user>", "<brand>")
# a mask token, a word, or any other single non-space character (emoji, punctuation)
_PIECES = Regex(r"<url>|<user>|<brand>|\w+|[^\w\s]")


def train_tokenizer(
    texts: Iterable[str], vocab_size: int, min_frequency: int, max_length: int
) -> Tokenizer:
    """Fit a WordPiece vocabulary on cleaned texts; padding and truncation are built in."""
    splitter = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split(_PIECES, behavior="isolated")]
    )
    words = Counter(word for text in texts for word, _ in splitter.pre_tokenize_str(text))
    tokenizer = Tokenizer(
        models.WordPiece(build_vocab(words, vocab_size, min_frequency), unk_token=UNK_TOKEN)
    )
    tokenizer.pre_tokenizer = splitter
    tokenizer.decoder = decoders.WordPiece()
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id(PAD_TOKEN), pad_token=PAD_TOKEN)
    return tokenizer


def build_vocab(words: Counter[str], vocab_size: int, min_frequency: int) -> dict[str, int]:
    """Special tokens, then the alphabet, then whole words, each ranked by (-count, text) so ties
    always fall the same way; at most ``vocab_size`` entries."""
    letters: Counter[str] = Counter()
    for word, count in words.items():
        for letter in word:
            letters[letter] += count
    alphabet = [
        piece
        for letter, count in _ranked(letters)
        if count >= min_frequency
        for piece in (letter, f"##{letter}")
    ]
    frequent = [word for word, count in _ranked(words) if count >= min_frequency]
    vocab: dict[str, int] = {}
    for token in [PAD_TOKEN, UNK_TOKEN, *MASK_TOKENS, *alphabet, *frequent]:
        if len(vocab) == vocab_size:
            break
        vocab.setdefault(token, len(vocab))
    return vocab


def _ranked(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


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
