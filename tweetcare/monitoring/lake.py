"""Reading the stream's lake tables and appending the monitor's own, outside Spark.

A table is a Delta table when it has a `_delta_log` (read with `deltalake`), else a
hive-partitioned Parquet folder (the lake before its move to Delta): the monitor reads both.
The `monitoring` table it writes is always Delta (`deltalake.write_deltalake`, append).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from deltalake import DeltaTable, write_deltalake

from tweetcare.core.settings import Settings

TWEETS, DEAD_LETTERS, MONITORING = "tweets", "dead_letters", "monitoring"


def table_uri(settings: Settings, name: str) -> str:
    """A lake table's location: `<lake location>/<name>`, s3a:// spelt s3:// for delta-rs."""
    root = settings.lake_location.rstrip("/")
    if root.startswith("s3a://"):
        root = "s3://" + root[len("s3a://") :]
    return f"{root}/{name}"


def storage_options(settings: Settings) -> dict[str, str]:
    """Object-store options for delta-rs from the settings (empty for local paths)."""
    options: dict[str, str] = {}
    if settings.s3_endpoint_url:
        options["AWS_ENDPOINT_URL"] = settings.s3_endpoint_url
        if settings.s3_endpoint_url.startswith("http://"):
            options["AWS_ALLOW_HTTP"] = "true"
    if settings.aws_access_key_id:
        options["AWS_ACCESS_KEY_ID"] = settings.aws_access_key_id
        options["AWS_SECRET_ACCESS_KEY"] = settings.aws_secret_access_key
    if settings.lake_location.startswith(("s3://", "s3a://")):
        options["AWS_REGION"] = settings.s3_region
    return options


def open_dataset(uri: str, options: dict[str, str] | None = None) -> ds.Dataset | None:
    """The table at `uri` as a pyarrow dataset: Delta when it has a `_delta_log`, else
    hive-partitioned Parquet; None when nothing is there yet."""
    if DeltaTable.is_deltatable(uri, storage_options=options or None):
        return DeltaTable(uri, storage_options=options or None).to_pyarrow_dataset()
    if "://" in uri and not uri.startswith("file://"):
        return None  # a Parquet folder on an object store: only Delta is read there
    path = uri.removeprefix("file://")
    try:
        dataset = ds.dataset(path, format="parquet", partitioning="hive")
    except (FileNotFoundError, pa.ArrowInvalid):
        return None
    return dataset if dataset.files else None


def latest_time(
    dataset: ds.Dataset, column: str, not_after: datetime | None = None
) -> datetime | None:
    """The largest value of a timestamp column (where the last window ends), of the values at
    or before `not_after` when given."""
    if column not in dataset.schema.names:
        return None
    where = None
    if not_after is not None:
        where = ds.field(column) <= pa.scalar(not_after, type=dataset.schema.field(column).type)
    value = pc.max(dataset.to_table(columns=[column], filter=where)[column]).as_py()
    return value


def read_since(
    dataset: ds.Dataset, column: str, start: datetime, end: datetime | None = None
) -> pd.DataFrame:
    """Rows with `start < column <= end` (all columns)."""
    field = ds.field(column)
    where = field > pa.scalar(start, type=dataset.schema.field(column).type)
    if end is not None:
        where = where & (field <= pa.scalar(end, type=dataset.schema.field(column).type))
    return dataset.to_table(filter=where).to_pandas()


def append_rows(uri: str, rows: list[dict[str, Any]], options: dict[str, str] | None) -> None:
    """Append rows to a Delta table, creating it on first use; a column the table lacks is added
    (schema merge), so a table written by an older monitor takes rows with new columns."""
    if rows:
        write_deltalake(
            uri,
            pa.Table.from_pylist(rows),
            mode="append",
            schema_mode="merge",
            storage_options=options,
        )
