"""A trained recurrent classifier as one ONNX graph, so a served sequence model needs ONNX Runtime
and a tokenizer, not PyTorch (the model server's lock holds no torch).

PyTorch's exporter cannot trace packed sequences, so the network is traced on padded ids and the
recurrent node is then given ONNX's own `sequence_lens` input: each text's final state stops at
its last real token in both directions, as packing makes it in `RecurrentClassifier.forward`.
Training only (needs torch and onnx); the graph is read back by `training.sequence_pyfunc`.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import onnx
import torch
from onnx import TensorProto, helper

from training.networks import RecurrentClassifier

IDS_INPUT = "ids"
LENGTHS_INPUT = "lengths"
OUTPUT = "inbound_probability"
RECURRENT_OPS = ("RNN", "GRU", "LSTM")
# the recurrent node's optional `sequence_lens` input (ONNX's RNN, GRU and LSTM alike)
SEQUENCE_LENS_SLOT = 4
OPSET = 17


class _Padded(torch.nn.Module):
    """The network over padded ids, ending in the inbound probability (traced, never trained)."""

    def __init__(self, network: RecurrentClassifier) -> None:
        super().__init__()
        self.network = network

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        _, state = self.network.recurrent(self.network.embedding(ids))
        logit = self.network.head(self.network.summary(state)).squeeze(-1)
        return torch.sigmoid(logit)


def export_onnx(network: RecurrentClassifier, target: Path) -> Path:
    """`network` (eval mode: no dropout) as an ONNX graph at `target`: int64 `ids` (batch, tokens)
    and `lengths` (batch) in, the inbound probability (batch) out."""
    traced = _Padded(network).eval()  # export restores this mode afterwards: keep it eval
    example = torch.ones((2, 3), dtype=torch.int64)
    with tempfile.TemporaryDirectory(prefix="tweetcare-sequence-onnx-") as tmp:
        padded_graph = Path(tmp) / "padded.onnx"
        with warnings.catch_warnings():
            # "batch_first RNN with a batch size other than 1": the batch axis is dynamic below
            warnings.simplefilter("ignore", UserWarning)
            torch.onnx.export(
                traced,
                (example,),
                str(padded_graph),
                input_names=[IDS_INPUT],
                output_names=[OUTPUT],
                dynamic_axes={IDS_INPUT: {0: "batch", 1: "tokens"}, OUTPUT: {0: "batch"}},
                opset_version=OPSET,
                dynamo=False,
            )
        graph = with_sequence_lengths(onnx.load(str(padded_graph)))
    onnx.checker.check_model(graph)
    onnx.save(graph, str(target))
    return target


def with_sequence_lengths(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model` with a `lengths` input feeding its one recurrent node's `sequence_lens`."""
    nodes = [node for node in model.graph.node if node.op_type in RECURRENT_OPS]
    if len(nodes) != 1:
        raise ValueError(f"expected one recurrent node in the traced graph, found {len(nodes)}")
    (node,) = nodes
    model.graph.input.append(
        helper.make_tensor_value_info(LENGTHS_INPUT, TensorProto.INT64, ["batch"])
    )
    as_int32 = f"{LENGTHS_INPUT}_int32"
    cast = helper.make_node("Cast", [LENGTHS_INPUT], [as_int32], to=TensorProto.INT32)
    model.graph.node.insert(0, cast)
    inputs = list(node.input) + [""] * max(0, SEQUENCE_LENS_SLOT + 1 - len(node.input))
    inputs[SEQUENCE_LENS_SLOT] = as_int32
    del node.input[:]
    node.input.extend(inputs)
    return model
