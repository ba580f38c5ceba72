"""The generated references cover what the code reads: every command, every setting, every
params.yaml key (docs/hooks/, rendered at `mkdocs build` time)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from serving.config import AnalysisSettings, BatchingSettings
from tests.fixtures.docs import ROOT, load_hook
from tweetcare.core.settings import Settings


def _dotted_keys(data: Any, prefix: str = "") -> set[str]:
    if not isinstance(data, dict):
        return {prefix.rstrip(".")}
    keys: set[str] = set()
    for key, value in data.items():
        keys |= _dotted_keys(value, f"{prefix}{key}.")
    return keys


@pytest.fixture(scope="module")
def configuration_page() -> str:
    return load_hook("config_reference").render_config_reference()


def test_every_command_has_its_section_and_usage() -> None:
    cli = load_hook("cli_reference")
    page = cli.render_cli_reference()
    commands = [" ".join(("tweetcare", *node.path)) for node in cli.walk(cli.root_command())]
    assert "tweetcare tickets correct" in commands and "tweetcare kafka topics list" in commands
    for command in commands:
        assert f"## `{command}`\n" in page
        assert f"```\n{command} [OPTIONS]" in page
    assert "| `--not-inbound` |" in page  # an option row, as --help shows it


@pytest.mark.parametrize("settings", [Settings, BatchingSettings, AnalysisSettings])
def test_every_setting_is_listed_by_its_variable(configuration_page: str, settings: Any) -> None:
    prefix = settings.model_config["env_prefix"]
    for name in settings.model_fields:
        assert f"`{prefix}{name}`".upper() in configuration_page.upper()
    assert "`MLFLOW_TRACKING_URI`" in configuration_page  # the alias the setting also reads


def test_every_key_of_params_yaml_is_listed(configuration_page: str) -> None:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    listed = {
        line.split("`")[1] for line in configuration_page.splitlines() if line.startswith("| `")
    }
    missing = {
        key
        for key in _dotted_keys(params)
        # a key holding a plain dict or list of values is listed once, at its own level
        if key not in listed and not any(key.startswith(f"{parent}.") for parent in listed)
    }
    assert not missing


def test_field_comments_name_only_the_field_under_them() -> None:
    comments = load_hook("config_reference").field_comments(Settings)
    assert comments["bento_host"] == "model server"
    assert comments["bento_port"] == ""  # the group's heading is not this field's description
    assert comments["classify_max_texts"] == "largest list one /classify call takes"
