"""Replace a file whole or not at all: write a temp file beside it, fsync, then `os.replace`.

A reader (or the next run after a crash or a kill -9) sees the old file or the new one, never
half of one; on any error the temp file goes and the old file stays as it was. Temp files are
hidden and named after the writing process (`.<name>.<pid>.partial`), so one left behind by a
killed writer is recognised and removed by the next writer, and never taken for data.
"""

from __future__ import annotations

import contextlib
import glob
import os
from collections.abc import Iterator
from pathlib import Path

from tweetcare.core.pids import alive

PARTIAL_SUFFIX = ".partial"
# what a plain open() would have made (mkstemp-style temp files are owner-only)
FILE_MODE = 0o644


def partial_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}{PARTIAL_SUFFIX}")


def remove_abandoned(target: Path) -> list[Path]:
    """Delete the temp files of `target` that writers which no longer run left behind."""
    removed = []
    for partial in target.parent.glob(f".{glob.escape(target.name)}.*{PARTIAL_SUFFIX}"):
        writer = partial.name[len(target.name) + 2 : -len(PARTIAL_SUFFIX)]
        if writer.isdigit() and not alive(int(writer)):
            partial.unlink(missing_ok=True)
            removed.append(partial)
    return removed


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def replacing(target: Path) -> Iterator[Path]:
    """Yield a temp path to write `target`'s new content to; on a clean exit it replaces
    `target` (fsynced first), on an exception it is deleted and `target` is untouched."""
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(target)
    partial = partial_path(target)
    partial.unlink(missing_ok=True)
    try:
        yield partial
        if not partial.exists():  # nothing written: an empty file, as open("w") would leave
            partial.touch()
        with partial.open("rb+") as written:
            os.fsync(written.fileno())
        os.chmod(partial, FILE_MODE)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


def write_text(target: Path, text: str) -> None:
    """Replace `target` with `text` (UTF-8) atomically and durably."""
    with replacing(target) as partial:
        partial.write_text(text, encoding="utf-8")
