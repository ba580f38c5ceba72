"""The tokenizer, the recurrent network and each sequence family's pyfunc round trip."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import torch

from tests.fixtures.bento import run_python, synthetic_features
from tests.fixtures.serving_lock import link_locked_site, run_in_locked_site
from training.families import SEQUENCE_CELLS, FittedModel, fit_family
from training.networks import NetworkConfig, RecurrentClassifier
from training.pyfunc import OUTPUT_COLUMNS
from training.sequence import batch_loader, fit_sequence
from training.sequence_onnx import export_onnx
from training.tokenizer import PAD_TOKEN, UNK_TOKEN, encode, train_tokenizer
from tweetcare.core.params import BaselineParams, SequenceParams, TokenizerParams, TrainParams

TINY = TrainParams(
    mask_handles=True,
    baseline=BaselineParams(C=4.0, max_features=5000, ngram_max=2, min_df=1),
    tokenizer=TokenizerParams(vocab_size=300, min_frequency=1, max_length=16),
    sequence=SequenceParams(
        embedding_dim=8, hidden=8, batch_size=32, max_epochs=2, patience=1, learning_rate=0.02
    ),
)
TEXTS = ["@AppleSupport my phone is broken again", "@555 Sorry to hear that! Please DM us ^JK"]


@pytest.fixture(scope="module")
def splits() -> dict[str, pd.DataFrame]:
    return {
        "train": synthetic_features(240),
        "val": synthetic_features(80, seed=1),
        "test": synthetic_features(80, seed=2),
    }


def test_tokenizer_keeps_masks_and_emojis_whole_and_pads() -> None:
    tokenizer = train_tokenizer(
        ["<brand> my phone is broken 😡 !!", "<user> sorry, dm us <url>"] * 5, 100, 1, 6
    )
    tokens = tokenizer.encode("<brand> my phone 😡 <url> is broken again and again").tokens
    assert tokens[:5] == ["<brand>", "my", "phone", "😡", "<url>"]
    assert len(tokens) == 6  # truncated to max_length
    ids, lengths = encode(tokenizer, ["<user> sorry", "", "zzz"])
    assert ids.shape == (3, 2) and lengths.tolist() == [2, 1, 1]
    assert ids[1, 0] == tokenizer.token_to_id(PAD_TOKEN)  # empty text: one pad, length 1
    assert ids[2, 0] == tokenizer.token_to_id(UNK_TOKEN)


def test_tokenizer_vocabulary_is_the_same_on_every_fit_whatever_the_text_order() -> None:
    texts = ["<brand> order late again zeta", "order alpha late", "mid order"] * 3
    first = train_tokenizer(texts, 200, 2, 16).get_vocab()
    again = train_tokenizer(list(reversed(texts)), 200, 2, 16).get_vocab()
    assert first == again
    # the commonest word first; equally frequent words alphabetically
    assert first["order"] < first["late"] < first["alpha"] < first["mid"] < first["zeta"]
    assert len(train_tokenizer(texts, 30, 2, 16).get_vocab()) == 30


def test_tokenizer_splits_an_unseen_word_into_known_pieces() -> None:
    tokenizer = train_tokenizer(["refund my order", "refund please", "my order"] * 3, 200, 2, 16)
    assert tokenizer.encode("refundd").tokens == ["refund", "##d"]
    assert tokenizer.encode("xyz").tokens == [UNK_TOKEN]  # letters never seen: unknown


@pytest.mark.parametrize("cell", SEQUENCE_CELLS)
@pytest.mark.parametrize("bidirectional", [True, False])
def test_network_gives_one_logit_per_text_and_ignores_padding(cell, bidirectional) -> None:
    torch.manual_seed(0)
    config = NetworkConfig(cell, 20, 4, 3, bidirectional, 0.0)
    network = RecurrentClassifier(config).eval()
    short = network(torch.tensor([[5, 6]]), torch.tensor([2]))
    padded = network(torch.tensor([[5, 6, 0, 0], [7, 0, 0, 0]]), torch.tensor([2, 1]))
    assert padded.shape == (2,)
    assert padded[0].item() == pytest.approx(short[0].item(), abs=1e-6)


@pytest.mark.parametrize("cell", SEQUENCE_CELLS)
@pytest.mark.parametrize("bidirectional", [True, False])
def test_the_onnx_graph_scores_padded_texts_as_the_packed_network_does(
    cell, bidirectional, tmp_path: Path
) -> None:
    import onnxruntime

    torch.manual_seed(0)
    network = RecurrentClassifier(NetworkConfig(cell, 30, 4, 3, bidirectional, 0.5)).eval()
    graph = export_onnx(network, tmp_path / "network.onnx")
    session = onnxruntime.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    ids = torch.tensor([[5, 6, 0, 0, 0], [7, 8, 9, 10, 11], [12, 0, 0, 0, 0]])
    lengths = torch.tensor([2, 5, 1])
    with torch.inference_mode():
        expected = torch.sigmoid(network(ids, lengths)).numpy()
    got = session.run(None, {"ids": ids.numpy(), "lengths": lengths.numpy()})[0]
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert not network.training  # exporting leaves the network as it was


def test_batches_grouped_by_length_pad_less_and_hold_every_tweet_once() -> None:
    words = ["refund", "order", "late", "phone", "broken", "again"]
    texts = [" ".join(words[: 1 + i % 6] * (1 + i % 5)) for i in range(300)]
    tokenizer = train_tokenizer(texts, 100, 1, 64)
    row_ids = np.arange(len(texts))  # as labels: each batch tells which rows it holds

    def batches(shuffle: bool, grouped: bool) -> list[tuple[torch.Tensor, ...]]:
        torch.manual_seed(0)
        return list(batch_loader(tokenizer, texts, row_ids, 32, shuffle, grouped))

    padded = {}
    for grouped in (False, True):
        found = batches(shuffle=True, grouped=grouped)
        rows = torch.cat([labels for _, _, labels in found]).long().tolist()
        assert sorted(rows) == row_ids.tolist()
        for ids, lengths, labels in found:  # each batch as wide as its longest text
            assert ids.shape == (len(labels), int(lengths.max()))
        padded[grouped] = sum(ids.numel() for ids, _, _ in found)
    assert padded[True] < 0.8 * padded[False]
    # validation: every text once, shortest first
    widths = [ids.shape[1] for ids, _, _ in batches(shuffle=False, grouped=True)]
    assert widths == sorted(widths)


def test_training_runs_on_the_threads_params_name_and_gives_them_back(monkeypatch) -> None:
    seen = []
    monkeypatch.setattr(
        "training.sequence._fit", lambda *args: seen.append(torch.get_num_threads())
    )
    before = torch.get_num_threads()
    for threads in (1, 2):
        fit_sequence(
            "gru",
            ([], np.empty(0)),
            ([], np.empty(0)),
            SequenceParams(threads=threads),
            TokenizerParams(),
            0,
        )
    assert seen == [1, 2] and torch.get_num_threads() == before


@pytest.fixture(scope="module")
def fitted(splits) -> dict[str, FittedModel]:
    """Each family trained once for the module (Lightning start-up is the slow part)."""
    return {cell: fit_family(cell, splits, TINY, mask_handles=True) for cell in SEQUENCE_CELLS}


@pytest.mark.parametrize("cell", SEQUENCE_CELLS)
def test_sequence_family_learns_and_round_trips_as_pyfunc(
    cell, splits, fitted, tmp_path: Path
) -> None:
    model = fitted[cell]
    in_memory = model.inbound_probability(splits["test"]["text"].tolist())
    accuracy = ((in_memory >= 0.5) == splits["test"]["inbound"].to_numpy()).mean()
    assert accuracy > 0.8
    assert model.metrics["epochs_trained"] >= 1 and model.params["cell"] == cell
    assert model.metrics["seconds_per_epoch"] > 0 and model.params["group_by_length"]

    model.save(tmp_path / "model")
    loaded = mlflow.pyfunc.load_model(str(tmp_path / "model"))
    out = loaded.predict(pd.DataFrame({"text": splits["test"]["text"]}))
    assert tuple(out.columns) == OUTPUT_COLUMNS
    np.testing.assert_allclose(out["inbound_probability"], in_memory, atol=1e-5)
    assert loaded.predict(pd.DataFrame({"text": pd.Series([], dtype=object)})).empty
    artifacts = {p.name for p in (tmp_path / "model" / "artifacts").iterdir()}
    assert {"tokenizer.json", "network.onnx", "network_config.json", "weights.safetensors"} <= (
        artifacts
    )


def test_gru_pyfunc_loads_in_a_fresh_process_with_masked_handles(fitted, tmp_path: Path) -> None:
    fitted["gru"].save(tmp_path / "gru")
    # invariance: which customer id is mentioned does not matter once handles are masked
    texts = [*TEXTS, "@111 please DM us", "@999999 please DM us"]
    script = (
        "import json, mlflow, pandas as pd;"
        f"m = mlflow.pyfunc.load_model({str(tmp_path / 'gru')!r});"
        f"print(json.dumps(m.predict(pd.DataFrame({{'text': {texts!r}}})).to_dict('records')))"
    )
    done = run_python(["-c", script])
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    assert [row["label"] for row in rows[:2]] == ["inbound", "outbound"]
    assert rows[2]["inbound_probability"] == pytest.approx(rows[3]["inbound_probability"])


def test_a_sequence_pyfunc_serves_without_torch(fitted, tmp_path: Path) -> None:
    """The model server's lock holds no PyTorch: the saved GRU loads and predicts with only it."""
    fitted["gru"].save(tmp_path / "gru")
    site = link_locked_site(tmp_path / "site")
    done = run_in_locked_site(
        site,
        "import importlib.util, json, mlflow, pandas as pd\n"
        "assert importlib.util.find_spec('torch') is None\n"
        f"m = mlflow.pyfunc.load_model({str(tmp_path / 'gru')!r})\n"
        f"print(json.dumps(m.predict(pd.DataFrame({{'text': {TEXTS!r}}}))['label'].tolist()))\n",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["inbound", "outbound"]
