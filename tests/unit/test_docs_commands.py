"""Every `tweetcare …` command the README and the docs show exists, with the options shown.

The commands are read from fenced code blocks and inline code in README.md and docs/*.md and
resolved in the real typer app (the one the generated CLI reference renders), so a renamed
command or option fails here instead of misleading a reader.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.docs import load_hook

ROOT = Path(__file__).resolve().parents[2]
DOC_PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"`([^`]+)`")
# `tweetcare` as a command word: at the start, or after a space, `(`, `"`, `;`, `&` or `|`
# a word that stands for a value the reader picks: FILE, TOPIC, COMMAND
PLACEHOLDER = re.compile(r"[A-Z][A-Z_]*")
INVOCATION = re.compile(r"(?:^|(?<=[\s(\"';&|]))tweetcare\s+(?P<args>[^\n;&|)`#]*)")


@dataclass(frozen=True)
class Documented:
    """One `tweetcare …` command line as a page shows it."""

    page: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: tweetcare {self.text}"


def _code_pieces(markdown: str) -> list[tuple[int, str]]:
    """(line number, code) for every fenced block (continuation lines joined) and inline span."""
    pieces: list[tuple[int, str]] = []
    for block in FENCE.finditer(markdown):
        start = markdown.count("\n", 0, block.start(1)) + 1
        lines = block.group(1).replace("\\\n", " ").splitlines()
        pieces += [(start + i, line) for i, line in enumerate(lines)]
    prose = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), markdown)
    for span in INLINE.finditer(prose):
        line = prose.count("\n", 0, span.start()) + 1
        pieces.append((line, " ".join(span.group(1).split())))
    return pieces


def documented_commands(pages: list[Path] = DOC_PAGES) -> list[Documented]:
    found = []
    for page in pages:
        name = page.relative_to(ROOT).as_posix() if page.is_relative_to(ROOT) else page.name
        for line, code in _code_pieces(page.read_text()):
            for match in INVOCATION.finditer(code):
                found.append(Documented(name, line, " ".join(match["args"].split())))
    return found


def _words(args: str) -> list[str]:
    """The words of a documented command line, its `[optional]` brackets dropped."""
    try:
        words = shlex.split(args)
    except ValueError:  # an unbalanced quote in prose-like code: plain words will do
        words = args.split()
    return [stripped for word in words if (stripped := word.strip("[]"))]


def resolve(root: Any, args: str) -> str:
    """The command path `tweetcare args` reaches; AssertionError naming what does not exist."""
    node, used_option = root, False
    words = iter(_words(args))
    for word in words:
        if word.startswith("-"):
            option = word.split("=", 1)[0]
            assert option in node.options, (
                f"`tweetcare {' '.join(node.path)}` has no option {option} "
                f"(it has {', '.join(sorted(node.options))})"
            )
            used_option = True
            if node.is_group and "=" not in word and _takes_value(node, option):
                next(words, None)  # `tweetcare --state-dir DIR tickets list`: DIR is no command
        elif node.is_group and PLACEHOLDER.fullmatch(word):
            return " ".join((*node.path, word))  # `tweetcare COMMAND --help`: any command
        elif node.is_group:
            child = node.subcommand(word)
            assert child is not None, (
                f"`tweetcare {' '.join(node.path)}` has no command {word!r} "
                f"(it has {', '.join(node.command.list_commands(node.context))})"
            )
            node = child
        # else: an argument of a leaf command
    assert not node.is_group or used_option, (
        f"`tweetcare {' '.join(node.path)}` is a group, not a command: it only prints its help"
    )
    return " ".join(node.path)


def _takes_value(node: Any, option: str) -> bool:
    return any(
        option in param.opts and not getattr(param, "is_flag", False)
        for param in node.command.params
    )


@pytest.fixture(scope="module")
def root() -> Any:
    return load_hook("cli_reference").root_command()


DOCUMENTED = documented_commands()


@pytest.mark.parametrize("documented", DOCUMENTED, ids=str)
def test_each_documented_command_exists_with_its_options(root: Any, documented: Documented) -> None:
    try:
        resolve(root, documented.text)
    except AssertionError as err:
        pytest.fail(f"{documented}: {err}")


def test_the_readme_and_the_docs_show_the_main_commands(root: Any) -> None:
    reached = {resolve(root, documented.text) for documented in DOCUMENTED}
    readme = {resolve(root, d.text) for d in DOCUMENTED if d.page == "README.md"}
    assert {"data import", "data labels import", "tickets list", "analyze", "ui start"} <= readme
    every_command = {
        " ".join(node.path)
        for node in load_hook("cli_reference").walk(root)
        if node.path and not node.is_group
    }
    # the docs show each command at least once; the generated reference lists all of them anyway
    assert len(reached & every_command) >= len(every_command) // 2


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ("kafka topics", "is a group"),
        ("tickets lsit --json", "no command 'lsit'"),
        ("kafka status --verbose", "no option --verbose"),
        ("demo --no-such-flag=1", "no option --no-such-flag"),
    ],
)
def test_a_stale_reference_is_named(root: Any, args: str, problem: str) -> None:
    with pytest.raises(AssertionError, match=problem):
        resolve(root, args)


def test_commands_are_found_in_blocks_spans_and_continued_lines(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Run `tweetcare tickets list --json` or\n\n"
        "```bash\n"
        'eval "$(tweetcare cluster env)"  # comment\n'
        "tweetcare data labels import a.csv --task category \\\n"
        "    --skip-empty\n"
        "```\n"
        "and `tweetcare/core/settings.py` is a path, not a command.\n"
    )
    found = [(d.line, d.text.strip()) for d in documented_commands([page])]
    assert found == [
        (4, "cluster env"),
        (5, "data labels import a.csv --task category --skip-empty"),
        (1, "tickets list --json"),
    ]
