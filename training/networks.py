"""The recurrent architecture shared by the Simple RNN, LSTM and GRU: plain `torch.nn` only.

Kept free of Lightning so the logged pyfunc can rebuild the network from its config and state
dict with nothing but torch (this module travels inside every sequence model).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

CELLS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


@dataclass(frozen=True)
class NetworkConfig:
    cell: str
    vocab_size: int
    embedding_dim: int
    hidden: int
    bidirectional: bool
    dropout: float
    pad_id: int = 0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class RecurrentClassifier(nn.Module):
    """Embedding → recurrent cell (optionally both directions) → dropout → one inbound logit."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        if config.cell not in CELLS:
            raise ValueError(f"unknown cell {config.cell!r}; known: {', '.join(CELLS)}")
        self.config = config
        self.embedding = nn.Embedding(
            config.vocab_size, config.embedding_dim, padding_idx=config.pad_id
        )
        self.recurrent = CELLS[config.cell](
            config.embedding_dim,
            config.hidden,
            batch_first=True,
            bidirectional=config.bidirectional,
        )
        self.dropout = nn.Dropout(config.dropout)
        directions = 2 if config.bidirectional else 1
        self.head = nn.Linear(config.hidden * directions, 1)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits of shape (batch,); packing makes the final state ignore the padding."""
        packed = pack_padded_sequence(
            self.embedding(ids), lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        _, state = self.recurrent(packed)
        return self.head(self.dropout(self.summary(state))).squeeze(-1)

    def summary(self, state: torch.Tensor | tuple[torch.Tensor, ...]) -> torch.Tensor:
        """The last layer's final hidden state, both directions side by side when bidirectional."""
        final = state[0] if isinstance(state, tuple) else state  # LSTM returns (h, c)
        if self.config.bidirectional:
            return torch.cat([final[-2], final[-1]], dim=1)
        return final[-1]
