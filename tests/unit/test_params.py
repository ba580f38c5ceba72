"""params.yaml is the pipeline's one source of configuration: every key in it is read, and
none is silently replaced by something else (a profile, a default)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tweetcare.core.errors import UserError
from tweetcare.core.params import DEFAULT_PARAMS, load_params
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
