"""The CLI's one JSON convention (`exit_codes.JSON_HELP`): one object per report, JSON lines
per listed record, so `jq` and `json.loads` read every --json output the same way."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, redirect_stdout
from typing import Any


def print_document(record: Any) -> None:
    """One JSON value on one line: what a command reports about one thing."""
    print(json.dumps(record, ensure_ascii=False, default=str))


def print_records(records: Iterable[Any]) -> None:
    """JSON lines: one object per listed or streamed record, nothing for none."""
    for record in records:
        print(json.dumps(record, ensure_ascii=False, default=str), flush=True)


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Everything a long command prints as it goes (its own lines, rich's, its subprocesses')
    on stderr, so that stdout carries only the JSON printed after it."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved, 1)
        os.close(saved)
