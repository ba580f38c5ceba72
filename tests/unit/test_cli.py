"""The installed `tweetcare` command as a user meets it: exit codes, one-line errors, --help.

These run the console script in a subprocess (with this checkout first on PYTHONPATH), because
the bugs they guard against live in `main()` and never show through typer's CliRunner.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from tests.fixtures.kafka import free_ports
from tweetcare import cli

ROOT = Path(__file__).resolve().parents[2]
TWEETCARE = Path(sys.executable).parent / "tweetcare"


def run_cli(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`tweetcare ARGS` with its state, ticket store and ports in tmp_path (nothing listens)."""
    kafka_port, bento_port = free_ports(2)
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "COLUMNS": "200",
        "TWEETCARE_STATE_DIR": str(tmp_path / "state"),
        "TWEETCARE_TICKETS_DB_URL": f"sqlite:///{tmp_path / 'tickets.db'}",
        "TWEETCARE_KAFKA_PORT": str(kafka_port),
        "TWEETCARE_BENTO_PORT": str(bento_port),
        **env,
    }
    return subprocess.run(
        [str(TWEETCARE), *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["replay"], "Missing option '--input'"),
        (["tickets", "lst"], "No such command 'lst'"),
        (["tickets", "list", "--limit", "abc"], "Invalid value for '--limit'"),
        (["tickets", "list", "--priority", "critical"], "'urgent', 'high', 'normal', 'low'"),
        (["tickets", "list", "--status", "done"], "'open', 'responded', 'closed'"),
        (["serve", "status", "--no-such-flag"], "No such option"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args: list[str], says: str, tmp_path: Path) -> None:
    result = run_cli(*args, tmp_path=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert says in line
    assert line.startswith("error: ")
    assert result.stdout == ""


def test_enum_options_ignore_case(tmp_path: Path) -> None:
    result = run_cli("tickets", "list", "--priority", "URGENT", "--json", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # an empty store: no tickets, but no error either


def test_a_user_error_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_cli("replay", "--input", "missing.csv", tmp_path=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == ["error: no CSV at missing.csv"]


def test_data_check_outside_the_repository_is_one_line(tmp_path: Path) -> None:
    result = run_cli("data", "check", "--json", tmp_path=tmp_path)
    assert result.returncode == 1  # a missing prerequisite, not a usage error
    assert result.stderr.splitlines() == [
        "error: data.dvc not found: run from the repository root, or `dvc add data`"
    ]


def test_a_bare_group_shows_its_help(tmp_path: Path) -> None:
    result = run_cli("tickets", tmp_path=tmp_path)
    assert result.returncode == 2  # click's convention for a missing command
    assert "Traceback" not in result.stderr
    shown = result.stdout + result.stderr
    assert "close" in shown and "stats" in shown


def test_a_status_command_exits_1_when_its_service_is_down(tmp_path: Path) -> None:
    result = run_cli("serve", "status", tmp_path=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "not running" in result.stdout
    as_json = run_cli("serve", "status", "--json", tmp_path=tmp_path)
    assert as_json.returncode == 1
    assert '"running": false' in as_json.stdout


def test_version(tmp_path: Path) -> None:
    from importlib.metadata import version

    result = run_cli("--version", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"tweetcare {version('tweetcare')}"


def test_help_lists_every_verb_without_importing_them(tmp_path: Path) -> None:
    result = run_cli("--help", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    for verb in cli.VERBS:
        assert f" {verb} " in result.stdout
    verbs = tuple(module for module, _, _ in cli.VERBS.values())
    probe = "import sys, tweetcare.cli as c; c.app(['--help'], standalone_mode=False); " + (
        "print(sorted(m for m in sys.modules if m.startswith(('pandas', 'sqlalchemy', "
        f"'httpx', 'mlflow')) or m in {verbs!r}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"},
        check=True,
    )
    assert loaded.stdout.splitlines()[-1] == "[]"


@pytest.mark.parametrize("verb", sorted(cli.VERBS))
def test_every_verb_loads_with_its_listed_help(verb: str) -> None:
    command = cli.load_verb(verb)
    assert command.name == verb
    assert command.help or command.short_help


def test_main_returns_the_exit_code_a_command_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    @cli.app.command("exit-probe", hidden=True)
    def probe(code: int) -> None:
        raise typer.Exit(code)

    try:
        for code in (0, 1, 3):
            monkeypatch.setattr(sys, "argv", ["tweetcare", "exit-probe", str(code)])
            assert cli.main() == code
    finally:
        cli.app.registered_commands.pop()
