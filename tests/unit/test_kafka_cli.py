"""`tweetcare kafka`: `status` exits 1 when the local broker is down and speaks JSON, and every
`tweetcare kafka …` command line the README documents is a command the CLI has, with its
options (the README once named a `kafka topics` group as if it listed topics)."""

from __future__ import annotations

import json
import re
from itertools import takewhile
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from tests.fixtures.kafka import free_ports
from tweetcare.cli.kafka import app

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED = re.compile(r"`tweetcare kafka ([^`]+)`")
# a table cell writes `a \| b`; prose writes `a | b`
ALTERNATIVES = re.compile(r"\s*\\?\|\s*")
COMMAND_NAME = re.compile(r"[a-z][a-z-]*")


@pytest.fixture
def no_broker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """The local broker's state in tmp_path, and its port (returned) one nothing listens on."""
    kafka_port, controller_port = free_ports(2)
    monkeypatch.setenv("TWEETCARE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("TWEETCARE_KAFKA_PORT", str(kafka_port))
    monkeypatch.setenv("TWEETCARE_KAFKA_CONTROLLER_PORT", str(controller_port))
    monkeypatch.delenv("TWEETCARE_KAFKA_BOOTSTRAP_SERVERS", raising=False)
    return kafka_port


@pytest.mark.usefixtures("no_broker")
def test_status_exits_1_when_the_broker_is_down() -> None:
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 1, result.output
    assert "running" in result.output and "no" in result.output


def test_status_json_says_down_and_exits_1(no_broker: int) -> None:
    result = CliRunner().invoke(app, ["status", "--json"])
    assert result.exit_code == 1, result.output
    state = json.loads(result.stdout)
    assert state["running"] is False and state["ready"] is False
    assert state["pid"] is None and state["topics"] == []
    assert state["bootstrap"] == f"127.0.0.1:{no_broker}"


def documented_commands() -> list[str]:
    """Every `tweetcare kafka …` the README and the docs show, one per alternative."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    found: list[str] = []
    for page in pages:
        if page.is_file():
            found += DOCUMENTED.findall(page.read_text())
    return found


def resolve(line: str) -> list[list[str]]:
    """The command path each alternative of one documented line reaches (`start | stop |
    status [--json]`; in `topics list | create`, a lone name replaces the last one before it),
    asserting it is a command, not a group, and has the options shown."""
    root = typer.main.get_command(app)
    path: list[str] = []
    reached = []
    for alternative in ALTERNATIVES.split(line.strip()):
        names = list(takewhile(COMMAND_NAME.fullmatch, alternative.split()))
        if not names:
            continue
        words = [*path[:-1], names[0]] if len(names) == 1 and path else names
        command, path = root, []
        for word in words:
            if not isinstance(command, TyperGroup):
                break  # a leaf command: the rest are its arguments
            sub = command.get_command(typer.Context(command), word)
            assert sub is not None, f"`tweetcare kafka {alternative}`: no command {word!r}"
            command, path = sub, [*path, word]
        assert not isinstance(command, TyperGroup), (
            f"`tweetcare kafka {alternative}` names a group, not a command: "
            f"{', '.join(command.list_commands(typer.Context(command)))}"
        )
        options = re.findall(r"--[a-z][a-z-]*", alternative)
        known = {name for param in command.params for name in param.opts + param.secondary_opts}
        unknown = [option for option in options if option not in known]
        assert not unknown, f"`tweetcare kafka {alternative}`: no option {unknown}"
        reached.append(path)
    return reached


def test_every_documented_kafka_command_exists_with_its_options() -> None:
    lines = documented_commands()
    assert lines, "the README documents no `tweetcare kafka …` command"
    reached = {" ".join(path) for line in lines for path in resolve(line)}
    assert {"status", "topics list", "topics describe", "tail"} <= reached


def test_a_bare_topics_group_is_caught() -> None:
    with pytest.raises(AssertionError, match="names a group"):
        resolve("start | stop | status | topics")
    with pytest.raises(AssertionError, match=r"no option \['--verbose'\]"):
        resolve("status [--verbose]")
