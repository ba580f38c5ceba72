"""The CLI reference page, rendered from the typer app itself so it cannot drift from the code.

Each command's usage line and options are what its own `--help` shows (`get_help_record`), so
a renamed option or a new command changes the page at the next `mkdocs build`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import typer.main

from tweetcare.cli.exit_codes import EXIT_CODES_HELP, JSON_HELP

ROOT_NAME = "tweetcare"


@dataclass(frozen=True)
class CommandDoc:
    """One command of the tree: its words after `tweetcare`, the command and its context."""

    path: tuple[str, ...]
    command: Any
    context: Any

    @property
    def is_group(self) -> bool:
        return hasattr(self.command, "list_commands")

    @property
    def options(self) -> set[str]:
        """Every option spelling the command accepts (`--json`, `-i`, `--no-fresh`, `--help`)."""
        names = set(self.command.get_help_option_names(self.context))
        for param in self.command.params:
            if param.param_type_name == "option":
                names.update(param.opts, param.secondary_opts)
        return names

    def subcommand(self, name: str) -> CommandDoc | None:
        """The named child of a group, or None (also for a command that is not a group)."""
        if not self.is_group or name not in self.command.list_commands(self.context):
            return None
        child = self.command.get_command(self.context, name)
        return CommandDoc((*self.path, name), child, _context(child, name, self.context))


def _context(command: Any, name: str, parent: Any | None) -> Any:
    return command.make_context(name, [], parent=parent, resilient_parsing=True)


def root_command() -> CommandDoc:
    """The `tweetcare` group with every verb loaded (the CLI imports verbs lazily)."""
    from tweetcare.cli import app

    command = typer.main.get_command(app)
    return CommandDoc((), command, _context(command, ROOT_NAME, None))


def walk(node: CommandDoc) -> Iterator[CommandDoc]:
    """`node` and every command below it, depth first in the CLI's own order."""
    yield node
    if node.is_group:
        for name in node.command.list_commands(node.context):
            child = node.subcommand(name)
            if child is not None and not child.command.hidden:
                yield from walk(child)


def _prose(text: str) -> str:
    """Help text as Markdown that shows it verbatim: `<task>`, `TWEETCARE_*` and the like are
    escaped outside its `code` spans; paragraphs stay paragraphs."""
    paragraphs = [" ".join(part.split()) for part in text.split("\n\n")]
    escaped = []
    for paragraph in paragraphs:
        pieces = paragraph.split("`")
        for i in range(0, len(pieces), 2):  # the even pieces lie outside code spans
            pieces[i] = re.sub(r"([\\*_\[\]])", r"\\\1", html.escape(pieces[i], quote=False))
        escaped.append("`".join(pieces))
    return "\n\n".join(escaped)


def _cell(text: str) -> str:
    """Help text that stays inside one Markdown table cell."""
    return _prose(" ".join(text.split())).replace("|", "\\|")


def _code_cell(text: str) -> str:
    """Code inside a table cell (a `|` would end the cell)."""
    return "`" + text.replace("|", "\\|") + "`"


def render_command(node: CommandDoc) -> str:
    name = " ".join((ROOT_NAME, *node.path))
    usage = " ".join([name, *node.command.collect_usage_pieces(node.context)])
    lines = [f"## `{name}`", "", _prose(node.command.help or node.command.short_help or ""), ""]
    lines += ["```", usage, "```", ""]
    records = [
        record
        for param in node.command.params
        if (record := param.get_help_record(node.context)) is not None
    ]
    if records:
        lines += ["| option or argument | what |", "| --- | --- |"]
        lines += [f"| {_code_cell(opts)} | {_cell(help_text)} |" for opts, help_text in records]
        lines.append("")
    if node.is_group:
        children = [
            f"[`{ROOT_NAME} {' '.join(child.path)}`](#{_anchor(child)})"
            for child in (node.subcommand(n) for n in node.command.list_commands(node.context))
            if child is not None and not child.command.hidden  # old names, kept for scripts
        ]
        lines += ["Commands: " + ", ".join(children), ""]
    return "\n".join(lines)


def _anchor(node: CommandDoc) -> str:
    """The id MkDocs' toc extension gives the command's heading."""
    return "-".join((ROOT_NAME, *node.path)).lower()


def render_cli_reference() -> str:
    """The whole page: every command, group by group."""
    intro = (
        "# CLI reference\n\n"
        "Generated from the `tweetcare` typer app at `mkdocs build` time: each section is what "
        "that command's `--help` says. `tweetcare COMMAND --help` prints the same in a "
        "terminal.\n\n"
        f"{_prose(EXIT_CODES_HELP)}\n\n{_prose(JSON_HELP)}\n"
    )
    return "\n".join([intro, *(render_command(node) for node in walk(root_command()))])
