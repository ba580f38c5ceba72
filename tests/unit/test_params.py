"""params.yaml is the pipeline's one source of configuration: every key in it is read, and
none is silently replaced by something else (a profile, a default)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from serving.config import AnalysisSettings
from tweetcare.core.contract import registered_names
from tweetcare.core.errors import UserError
from tweetcare.core.params import DEFAULT_PARAMS, load_params
from tweetcare.core.settings import Settings
from tweetcare.monitoring.config import load_monitor_params

ROOT = Path(__file__).resolve().parents[2]
PARAMS = ROOT / DEFAULT_PARAMS


def leaves(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Every scalar or list in a nested mapping, by its dotted key."""
    found: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            found.update(leaves(value, f"{dotted}."))
        else:
            found[dotted] = value
    return found


def write(tmp_path: Path, raw: dict[str, Any]) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_the_repository_params_load() -> None:
    params = load_params(PARAMS)
    assert params.train.profile in params.train.profiles
    assert load_monitor_params(PARAMS).drift  # the monitor block is typed on its own


def test_the_active_train_profile_overrides_nothing_params_yaml_sets() -> None:
    """`dvc exp run -S train.x=...` must change what training sees: the profile may only fill
    what the file leaves to it."""
    raw = yaml.safe_load(PARAMS.read_text())["train"]
    effective = load_params(PARAMS).train.for_profile().model_dump(mode="json")
    written = leaves(raw)
    seen = leaves(effective)
    changed = {key: (value, seen.get(key)) for key, value in written.items() if seen[key] != value}
    assert changed == {}


def test_the_profile_is_what_sets_epochs_and_the_transformer_sample() -> None:
    train = load_params(PARAMS).train
    active = train.profiles[train.profile]
    effective = train.for_profile()
    assert effective.sequence.max_epochs == active.max_epochs
    assert effective.sequence.patience == active.patience
    assert effective.transformer.train_sample == active.transformer_train_sample


@pytest.mark.parametrize(
    ("section", "key"),
    [("train", "max_epoch"), ("analysis", "cascade_treshold"), ("register", "gate")],
)
def test_an_unknown_key_is_a_readable_error(tmp_path: Path, section: str, key: str) -> None:
    raw = yaml.safe_load(PARAMS.read_text())
    raw[section][key] = 1
    with pytest.raises(UserError, match=rf"{section}\.{key}: Extra inputs are not permitted"):
        load_params(write(tmp_path, raw))


def test_a_bad_value_names_its_key(tmp_path: Path) -> None:
    raw = yaml.safe_load(PARAMS.read_text())
    raw["split"]["seed"] = "forty-two"
    with pytest.raises(UserError, match=r"split\.seed: Input should be a valid integer"):
        load_params(write(tmp_path, raw))


def test_an_unknown_monitor_key_is_a_readable_error(tmp_path: Path) -> None:
    raw = yaml.safe_load(PARAMS.read_text())
    raw["monitor"]["quality"]["max_dead_letter_rat"] = 0.1
    with pytest.raises(UserError, match=r"quality\.max_dead_letter_rat: Extra inputs"):
        load_monitor_params(write(tmp_path, raw))


def test_a_missing_file_says_where_to_run(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        load_params(tmp_path / "params.yaml")


def test_the_services_load_the_names_params_yaml_registers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = yaml.safe_load(PARAMS.read_text())
    raw["register"]["model_name"] = "acme-inbound"
    raw["analysis"]["model_names"]["category"] = "acme-category"
    monkeypatch.chdir(tmp_path)  # the working directory's params.yaml is the one that counts
    write(tmp_path, raw)
    for name in ("MODEL_NAME", "SENTIMENT_MODEL_NAME", "CATEGORY_MODEL_NAME"):
        monkeypatch.delenv(f"TWEETCARE_{name}", raising=False)

    assert registered_names().inbound == "acme-inbound"
    assert Settings().inbound_model == "acme-inbound"
    names = AnalysisSettings().model_names
    assert names["category"] == "acme-category"
    assert names["sentiment"] == raw["analysis"]["model_names"]["sentiment"]
    # a TWEETCARE_* variable still overrides the params for one service
    monkeypatch.setenv("TWEETCARE_MODEL_NAME", "other")
    monkeypatch.setenv("TWEETCARE_CATEGORY_MODEL_NAME", "other-category")
    assert Settings().inbound_model == "other"
    assert AnalysisSettings().model_names["category"] == "other-category"


def test_without_a_params_file_here_the_projects_own_names_are_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    expected = load_params(PARAMS)
    names = registered_names()
    assert names.inbound == expected.register_.model_name
    assert names.analysis == expected.analysis.model_names
