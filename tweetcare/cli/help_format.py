"""Help output fixes that apply to every command of the tree."""

from __future__ import annotations

from typing import Any


def hide_flag_placeholders(command: Any) -> None:
    """Drop the `<bool>` type placeholder typer shows beside every flag (`--json`,
    `--fresh/--no-fresh`, `--help`): a flag takes no value, so its help should not show one.

    typer renders an option's metavar when one is set; an empty one renders as nothing.
    """
    help_option = command.get_help_option(command.context_class(command))
    for param in [*command.params, help_option]:
        if param is not None and getattr(param, "is_flag", False):
            param.metavar = ""
    for child in getattr(command, "commands", {}).values():
        hide_flag_placeholders(child)
