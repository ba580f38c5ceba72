"""Training the Simple RNN, LSTM and GRU: one LightningModule, parametrised by the recurrent cell.

Early stopping on validation loss, the best epoch's weights kept (a checkpoint in a temp folder),
Lightning's progress bar, and per-epoch metrics sent to the active MLflow run. Texts are tokenized
once per fit, not once per epoch; with `group_by_length` each batch holds tweets of similar length
(Hugging Face's `LengthGroupedSampler`), so a packed batch runs as few recurrent steps as it can.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from dataclasses import dataclass
from typing import Any

import lightning as L
import mlflow
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint
from tokenizers import Tokenizer
from torch import nn
from torch.utils.data import DataLoader
from torchmetrics.classification import BinaryAccuracy, BinaryF1Score

from training.networks import NetworkConfig, RecurrentClassifier
from training.sequence_pyfunc import INFERENCE_BATCH
from training.tokenizer import PAD_TOKEN, encode, train_tokenizer
from tweetcare.core.params import SequenceParams, TokenizerParams

MONITOR = "val/loss"


class SequenceModule(L.LightningModule):
    """Owns the loop around a `RecurrentClassifier`: loss, optimizer, metrics per split."""

    def __init__(self, network_config: dict[str, Any], learning_rate: float) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.network = RecurrentClassifier(NetworkConfig(**network_config))
        self.loss = nn.BCEWithLogitsLoss()
        self.val_f1 = BinaryF1Score()
        self.val_accuracy = BinaryAccuracy()

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.network(ids, lengths)

    def training_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> torch.Tensor:
        ids, lengths, labels = batch
        loss = self.loss(self(ids, lengths), labels)
        self.log("train/loss", loss, on_step=False, on_epoch=True, prog_bar=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> None:
        ids, lengths, labels = batch
        logits = self(ids, lengths)
        self.log(MONITOR, self.loss(logits, labels), on_epoch=True, prog_bar=True)
        probabilities = torch.sigmoid(logits)
        self.val_f1(probabilities, labels.int())
        self.val_accuracy(probabilities, labels.int())
        self.log("val/f1", self.val_f1, on_epoch=True, prog_bar=True)
        self.log("val/accuracy", self.val_accuracy, on_epoch=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.hparams.learning_rate)


class EpochTimer(Callback):
    """Wall seconds of each epoch, its validation pass included: the figure a user waits for."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._start = 0.0

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.seconds.append(time.perf_counter() - self._start)


class MlflowEpochMetrics(Callback):
    """Per-epoch `train/loss`, `val/loss`, `val/f1`, `val/accuracy` into the active MLflow run."""

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        metrics = {name: float(value) for name, value in trainer.callback_metrics.items()}
        if metrics and mlflow.active_run() is not None:
            mlflow.log_metrics(metrics, step=trainer.current_epoch)


@dataclass
class SequenceFit:
    network: RecurrentClassifier
    tokenizer: Tokenizer
    epochs: int
    best_val_loss: float
    # wall seconds of each epoch trained (validation included)
    epoch_seconds: list[float]


def batch_loader(
    tokenizer: Tokenizer,
    texts: list[str],
    labels: np.ndarray,
    batch_size: int,
    shuffle: bool,
    group_by_length: bool,
) -> DataLoader:
    """Batches of (ids cut to the batch's longest text, lengths, labels), tokenized up front.

    Shuffled for training: in random order, or, grouped by length, in runs of similar lengths
    that start at random; unshuffled (validation): in text order, or shortest first."""
    ids, lengths = encode(tokenizer, texts)
    targets = torch.from_numpy(labels.astype(np.float32))

    def collate(rows: list[int]) -> tuple[torch.Tensor, ...]:
        width = int(lengths[rows].max())
        return torch.from_numpy(ids[rows, :width]), torch.from_numpy(lengths[rows]), targets[rows]

    if not group_by_length:
        return DataLoader(range(len(texts)), batch_size, shuffle=shuffle, collate_fn=collate)
    if shuffle:
        from transformers.trainer_pt_utils import LengthGroupedSampler

        order: Any = LengthGroupedSampler(batch_size, lengths=lengths.tolist())
    else:
        order = np.argsort(lengths, kind="stable").tolist()
    return DataLoader(range(len(texts)), batch_size, sampler=order, collate_fn=collate)


def fit_sequence(
    cell: str,
    train: tuple[list[str], np.ndarray],
    val: tuple[list[str], np.ndarray],
    params: SequenceParams,
    tokenizer_params: TokenizerParams,
    seed: int,
) -> SequenceFit:
    """Train one recurrent classifier on cleaned texts; returns the best epoch's network (CPU)."""
    threads = torch.get_num_threads()
    # the CPU's share of the work whatever the accelerator (on a GPU: batches and the optimizer)
    torch.set_num_threads(params.threads)
    try:
        return _fit(cell, train, val, params, tokenizer_params, seed)
    finally:
        torch.set_num_threads(threads)


def _fit(
    cell: str,
    train: tuple[list[str], np.ndarray],
    val: tuple[list[str], np.ndarray],
    params: SequenceParams,
    tokenizer_params: TokenizerParams,
    seed: int,
) -> SequenceFit:
    L.seed_everything(seed, verbose=False)
    tokenizer = train_tokenizer(
        train[0],
        tokenizer_params.vocab_size,
        tokenizer_params.min_frequency,
        tokenizer_params.max_length,
    )
    config = NetworkConfig(
        cell=cell,
        vocab_size=tokenizer.get_vocab_size(),
        embedding_dim=params.embedding_dim,
        hidden=params.hidden,
        bidirectional=params.bidirectional,
        dropout=params.dropout,
        pad_id=tokenizer.token_to_id(PAD_TOKEN),
    )
    module = SequenceModule(config.to_dict(), params.learning_rate)
    timer = EpochTimer()
    with tempfile.TemporaryDirectory(prefix="tweetcare-ckpt-") as tmp:
        checkpoint = ModelCheckpoint(
            dirpath=tmp, monitor=MONITOR, mode="min", save_top_k=1, save_weights_only=True
        )
        trainer = L.Trainer(
            max_epochs=params.max_epochs,
            accelerator=params.accelerator,
            devices=1,
            logger=False,
            callbacks=[
                EarlyStopping(MONITOR, patience=params.patience, mode="min"),
                checkpoint,
                timer,
                MlflowEpochMetrics(),
            ],
            gradient_clip_val=params.gradient_clip,
            num_sanity_val_steps=0,
            enable_model_summary=False,
            enable_progress_bar=True,
        )
        grouped = params.group_by_length
        train_batches = batch_loader(tokenizer, *train, params.batch_size, True, grouped)
        val_batches = batch_loader(tokenizer, *val, params.batch_size * 4, False, grouped)
        with warnings.catch_warnings():
            # single-process loading is deliberate: a batch is a slice of ids tokenized up front
            warnings.filterwarnings("ignore", message=".*does not have many workers.*")
            trainer.fit(module, train_batches, val_batches)
        best = SequenceModule.load_from_checkpoint(checkpoint.best_model_path, map_location="cpu")
    network = best.network.cpu().eval()
    return SequenceFit(
        network=network,
        tokenizer=tokenizer,
        epochs=trainer.current_epoch,
        best_val_loss=float(checkpoint.best_model_score or float("nan")),
        epoch_seconds=timer.seconds,
    )


def sequence_probabilities(
    network: RecurrentClassifier, tokenizer: Tokenizer, cleaned: list[str]
) -> np.ndarray:
    """Inbound probability of each already-cleaned text from the trained network (in memory, as
    the comparison scores it; the logged pyfunc runs its ONNX export), in chunks."""
    network.eval()
    out: list[np.ndarray] = []
    with torch.inference_mode():
        for start in range(0, len(cleaned), INFERENCE_BATCH):
            ids, lengths = encode(tokenizer, cleaned[start : start + INFERENCE_BATCH])
            logits = network(torch.from_numpy(ids), torch.from_numpy(lengths))
            out.append(torch.sigmoid(logits).cpu().numpy())
    return np.concatenate(out) if out else np.empty(0)
