"""The progress file as the driver's loop records it from each query's `lastProgress`."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from pyspark.sql.streaming.listener import StreamingQueryProgress

from streaming.job import LakeWriter, ProgressRecorder, offsets_of
from streaming.progress import ProgressFile


def progress(batch_id: int, topic: str, offsets: dict[str, int], query_id: str) -> Any:
    """A progress as PySpark builds it from the JVM's JSON."""
    return StreamingQueryProgress.fromJson(
        {
            "id": query_id,
            "runId": str(uuid.uuid4()),
            "name": "q",
            "timestamp": "2026-12-08T00:00:00.000Z",
            "batchId": batch_id,
            "batchDuration": 1,
            "durationMs": {},
            "eventTime": {},
            "stateOperators": [],
            "sources": [
                {
                    "description": "KafkaV2",
                    "startOffset": {topic: {"0": 0}},
                    "endOffset": {topic: offsets},
                    "latestOffset": {topic: offsets},
                    "numInputRows": 1,
                    "inputRowsPerSecond": 1.0,
                    "processedRowsPerSecond": 1.0,
                }
            ],
            "sink": {"description": "foreachBatch", "numOutputRows": -1},
            "numInputRows": 1,
            "inputRowsPerSecond": 1.0,
            "processedRowsPerSecond": 1.0,
        }
    )


class FakeQuery:
    def __init__(self) -> None:
        self.id = uuid.uuid4()
        self.lastProgress: Any = None


class CountsOnly(LakeWriter):
    """The lake writer's batch counts, without a Spark session or a ticket store."""

    def __init__(self, counts: dict[int, dict[str, int]]) -> None:
        self.counts = counts


def test_end_offsets_are_read_from_the_sources_json_not_pysparks_str_of_a_dict() -> None:
    query_id = str(uuid.uuid4())
    assert offsets_of(progress(3, "tweets", {"0": 5, "1": 2}, query_id)) == {
        "tweets": {"0": 5, "1": 2}
    }


def test_each_new_batch_is_recorded_once_and_lake_counts_add_up_between_polls(
    tmp_path: Path,
) -> None:
    care, lake_query = FakeQuery(), FakeQuery()
    writer = CountsOnly(
        {0: {"rows": 4, "dead_letters": 1}, 1: {"rows": 6, "dead_letters": 0}, 2: {"rows": 9}}
    )
    recorder = ProgressRecorder(
        ProgressFile(tmp_path),
        care,  # type: ignore[arg-type]
        lake_query,  # type: ignore[arg-type]
        writer,
    )
    recorder.poll()  # nothing ran yet: only the query id
    state = json.loads((tmp_path / "stream.progress.json").read_text())
    assert state["query_id"] == str(care.id) and state["batch_id"] is None

    care.lastProgress = progress(7, "tweets", {"0": 40}, str(care.id))
    lake_query.lastProgress = progress(1, "tweets-lake", {"0": 30}, str(lake_query.id))
    recorder.poll()
    state = json.loads((tmp_path / "stream.progress.json").read_text())
    assert state["batch_id"] == 7 and state["end_offsets"] == {"tweets": {"0": 40}}
    assert state["lake_batch_id"] == 1 and state["lake_end_offsets"] == {"tweets-lake": {"0": 30}}
    # two lake batches ended between two polls: both counted, the later one left for later
    assert (state["rows"], state["dead_letters"]) == (10, 1)
    assert list(writer.counts) == [2]
