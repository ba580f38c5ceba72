"""params.yaml has no dead parameter: what `dvc exp run -S` sets is what training reads."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from tweetcare.core.models import ModelContract, model_contract
from tweetcare.core.params import Params, RegisterParams, load_params

ROOT = Path(__file__).resolve().parents[2]


def overridden(path: Path, **changes: object) -> Path:
    """The project's params.yaml with dotted keys set, as `dvc exp run -S key=value` does."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = raw
        for key in parents:
            node = node[key]
        node[leaf] = value
    path.write_text(yaml.safe_dump(raw))
    return path


def test_an_epoch_override_reaches_the_sequence_models(tmp_path: Path) -> None:
    params = load_params(overridden(tmp_path / "p.yaml", train__sequence__max_epochs=10))
    assert params.train.sequence.max_epochs == 10
    params = load_params(overridden(tmp_path / "p.yaml", train__transformer__train_sample=77))
    assert params.train.transformer.train_sample == 77


def test_a_key_the_code_does_not_read_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="profiles"):
        load_params(overridden(tmp_path / "p.yaml", train__profiles={"quick": {}}))


def test_the_contract_names_every_model_once_and_builds_each_gate() -> None:
    params: Params = load_params(ROOT / "params.yaml")
    contract = model_contract(ROOT / "params.yaml")
    assert isinstance(contract, ModelContract) and contract == params.models
    names = [contract.role(r).name for r in ("inbound", "sentiment", "category", "entities")]
    assert len(set(names)) == 4
    gate = RegisterParams.of(contract, "entities")
    assert gate.model_name == contract.entities.name
    assert gate.min_tweets_per_second == contract.entities.min_tweets_per_second
    assert gate.latency_batch == contract.latency_batch
    assert contract.inbound.uri == f"models:/{contract.inbound.name}@{contract.inbound.alias}"
