"""The figures a run of the stream ends with, read back from where the stream wrote them.

They come from the outputs themselves (the lake, the dead letters, the ticket store), not from
counters kept alongside, so a reconciled summary proves that nothing was lost on the way.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow.dataset as ds

from tweetcare.core.settings import Settings
from tweetcare.tickets.store import TicketStore


@dataclass(frozen=True)
class Summary:
    replayed: int
    consumed: int
    inbound: int
    outbound: int
    tickets_opened: int
    lake_rows: int
    dead_lettered: int

    def lines(self) -> list[str]:
        return [f"{name.replace('_', ' ')}: {value}" for name, value in asdict(self).items()]

    def problems(self) -> list[str]:
        """Every way the figures fail to add up; empty when the run lost and duplicated nothing."""
        found = []
        if self.replayed != self.lake_rows + self.dead_lettered:
            found.append(
                f"replayed ({self.replayed}) != lake rows ({self.lake_rows}) "
                f"+ dead-lettered ({self.dead_lettered})"
            )
        if self.consumed != self.replayed:
            found.append(f"consumed ({self.consumed}) != replayed ({self.replayed})")
        if self.inbound + self.outbound != self.lake_rows:
            found.append(
                f"inbound ({self.inbound}) + outbound ({self.outbound}) "
                f"!= lake rows ({self.lake_rows})"
            )
        return found


def count_rows(folder: Path, unique: list[str] | None = None) -> int:
    """Rows of a Parquet dataset (distinct on `unique` columns when given); 0 if none yet."""
    if not folder.exists() or not any(folder.rglob("*.parquet")):
        return 0
    table = ds.dataset(folder, format="parquet", partitioning="hive").to_table(columns=unique)
    if unique:
        return table.group_by(unique).aggregate([]).num_rows
    return table.num_rows


def consumed_messages(settings: Settings) -> int:
    return TicketStore(settings.tickets_db_url).counts()["messages"]


def collect_summary(settings: Settings, replayed: int) -> Summary:
    tweets = settings.lake_dir / "tweets"
    lake_rows = count_rows(tweets, unique=["tweet_id"])
    inbound = 0
    if lake_rows:
        table = ds.dataset(tweets, format="parquet", partitioning="hive").to_table(
            columns=["tweet_id", "predicted_inbound"]
        )
        inbound = (
            table.group_by(["tweet_id", "predicted_inbound"])
            .aggregate([])
            .filter(ds.field("predicted_inbound"))
            .num_rows
        )
    counts = TicketStore(settings.tickets_db_url).counts()
    return Summary(
        replayed=replayed,
        consumed=counts["messages"],
        inbound=inbound,
        outbound=lake_rows - inbound,
        tickets_opened=counts["tickets"],
        lake_rows=lake_rows,
        dead_lettered=count_rows(settings.lake_dir / "dead_letters", unique=["partition", "offset"]),
    )
