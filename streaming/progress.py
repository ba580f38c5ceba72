"""The job's progress for `tweetcare stream status`: one JSON file, replaced atomically.

`{"query_id", "batch_id", "updated_at", "end_offsets": {topic: {partition: next offset}},
"rows", "dead_letters", "last_error"}`, written after each micro-batch and on failure, in the
driver's local state folder (not the lake or the checkpoint, which may be remote).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROGRESS_FILE = "stream.progress.json"


class ProgressFile:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / PROGRESS_FILE
        self.state: dict[str, Any] = {
            "query_id": None,
            "batch_id": None,
            "updated_at": None,
            "end_offsets": {},
            "rows": 0,
            "dead_letters": 0,
            "last_error": None,
        }
        if self.path.exists():  # a restart keeps the last known offsets and error
            with contextlib.suppress(OSError, ValueError):
                self.state.update(json.loads(self.path.read_text()))

    def update(self, **fields: Any) -> None:
        self.state.update(fields)
        self.state["updated_at"] = datetime.now(UTC).isoformat()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".progress-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(self.state, out)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def end_offsets_of(source_end_offset: Any) -> dict[str, dict[str, int]]:
    """Spark's Kafka source `endOffset` (JSON text or a dict) as {topic: {partition: offset}}."""
    if isinstance(source_end_offset, str):
        try:
            source_end_offset = json.loads(source_end_offset)
        except ValueError:
            return {}
    if not isinstance(source_end_offset, dict):
        return {}
    return {
        str(topic): {str(p): int(o) for p, o in partitions.items()}
        for topic, partitions in source_end_offset.items()
        if isinstance(partitions, dict)
    }
