"""The CLI's exit codes, defined once: `main()` maps errors to them, and the root command's
help and the CLI reference print `EXIT_CODES_HELP`."""

from __future__ import annotations

SUCCESS = 0
# a runtime failure: no such ticket or model, a service down, a status that is not all good
FAILURE = 1
# a usage error: an unknown command or option, a bad value, an unreadable input file
USAGE = 2

EXIT_CODES_HELP = (
    f"Exit codes: {SUCCESS} done; {FAILURE} a runtime failure (no such ticket or model, a "
    f"service down, a status command whose service is not running); {USAGE} a usage error "
    "(an unknown command or option, a bad value or argument, an input file that is missing "
    "or unreadable)."
)
JSON_HELP = (
    "--json: a command that reports one thing (a status, a summary, a ticket) prints one JSON "
    "object on one line; a command that lists or streams records (tickets, topics, users, "
    "tail) prints JSON lines, one object per record."
)
