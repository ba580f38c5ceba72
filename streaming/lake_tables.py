"""The lake's two Delta tables as Spark writes them: created once, then merged batch by batch.

MERGE on the table's key keeps each tweet (and each dead-lettered Kafka record) exactly once,
whatever Kafka, Spark or a restart delivers twice. The merge condition names the batch's date
partitions as literals, so Delta reads only those partitions' files.
"""

from __future__ import annotations

import pyarrow as pa
from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import from_arrow_schema

from streaming import lake
from tweetcare.core.settings import Settings
from tweetcare.core.storage import DEAD_LETTERS_TABLE, TWEETS_TABLE, lake_table_uri

DELTA_EXTENSIONS = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}

# Session defaults for a stream on a small machine (`spark_conf` overrides them on a cluster).
# Delta rebuilds a table's snapshot in `snapshotPartitions` tasks (50 by default, one wave of
# two per core here), and auto compaction ran after every MERGE. Measured on a 2,000-tweet batch
# over 33 dates: MERGE 11-13 s with both, 6.8 s with 2 partitions, 3.4 s with neither. The job
# compacts the dates it wrote every `lake_compact_every` batches instead (`compact`); a lake
# created with `delta.autoOptimize.autoCompact` (before this) is covered by the session setting.
DELTA_STREAM_CONF = {
    "spark.databricks.delta.snapshotPartitions": "2",
    "spark.databricks.delta.autoCompact.enabled": "false",
}


# The columns Delta keeps min/max statistics of, per table: the merge key (`merge_new` prunes
# files on the tweet id range) and the times readers filter on. By default Delta collects them
# for the first 32 columns on every write; with the job's interpreted plans its statistics
# tracker was the largest single cost of the lake query's writes (a JFR profile: 13% of the
# executors' samples in `DeltaTaskStatisticsTracker.newRow`, quadratic in the columns).
STATS_COLUMNS = {
    TWEETS_TABLE: ["tweet_id", "created_at", "processed_at"],
    DEAD_LETTERS_TABLE: list(lake.DEAD_LETTER_KEY),
}
STATS_PROPERTY = "delta.dataSkippingStatsColumns"


def ensure_tables(spark: SparkSession, settings: Settings) -> None:
    """Create the tables where they do not exist yet (metadata only, on the driver). A table
    that exists keeps its partitioning (an older lake's date and brand) and gains the columns
    added since it was created (null in its older rows)."""
    tables = (
        (TWEETS_TABLE, lake.TWEET_SCHEMA, lake.TWEET_PARTITIONS),
        (DEAD_LETTERS_TABLE, lake.DEAD_LETTER_SCHEMA, lake.DEAD_LETTER_PARTITIONS),
    )
    for name, schema, partitions in tables:
        uri = lake_table_uri(settings, name)
        stats = ",".join(STATS_COLUMNS[name])
        if DeltaTable.isDeltaTable(spark, uri):
            add_missing_columns(spark, uri, schema)
            keep_stats_of(spark, uri, stats)
            continue
        builder = (
            DeltaTable.createIfNotExists(spark)
            .location(uri)
            .addColumns(from_arrow_schema(schema))
            .partitionedBy(*partitions)
            .property(STATS_PROPERTY, stats)
        )
        builder.execute()


def add_missing_columns(spark: SparkSession, uri: str, schema: pa.Schema) -> None:
    """Add the schema's columns the table lacks, at the end (a metadata-only Delta commit)."""
    have = set(DeltaTable.forPath(spark, uri).toDF().columns)
    missing = [f for f in from_arrow_schema(schema).fields if f.name not in have]
    if missing:
        columns = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in missing)
        spark.sql(f"ALTER TABLE delta.`{uri}` ADD COLUMNS ({columns})")


def keep_stats_of(spark: SparkSession, uri: str, columns: str) -> None:
    """Set the statistics columns on a table created before they were chosen (a metadata-only
    commit, once; the files already written keep the statistics they have)."""
    properties = DeltaTable.forPath(spark, uri).detail().select("properties").head()[0] or {}
    if properties.get(STATS_PROPERTY) != columns:
        spark.sql(f"ALTER TABLE delta.`{uri}` SET TBLPROPERTIES ('{STATS_PROPERTY}' = '{columns}')")


def merge_new(
    spark: SparkSession,
    uri: str,
    rows: DataFrame,
    key: list[str],
    dates: list[str],
    key_range: tuple[str, str] | None = None,
) -> None:
    """Insert the rows whose key the table does not hold yet (one per key), in `dates` only.

    `key_range` is the lowest and highest value of the first key column among `rows`: a literal
    range Delta's data skipping checks against each file's min/max statistics, so the MERGE reads
    only the files that could hold one of these keys. Without it, a batch of a replay spanning six
    weeks read every earlier file of some 33 date partitions, and its MERGE took 8-11 s however
    few rows it had (benchmarks/stream.py). Tweet ids grow with time, so a new batch's range
    rarely overlaps older files; a repeat's range does, and its files are read.
    """
    if not dates:
        return
    unique = rows.dropDuplicates(key)
    shown = ", ".join(_literal(d) for d in sorted(dates))
    bounds = []
    if key_range is not None:
        low, high = (_literal(value) for value in key_range)
        bounds = [f"t.`{key[0]}` >= {low}", f"t.`{key[0]}` <= {high}"]
    condition = " AND ".join(
        [
            f"t.`{lake.PARTITION_COLUMN}` IN ({shown})",
            *bounds,
            f"t.`{lake.PARTITION_COLUMN}` = s.`{lake.PARTITION_COLUMN}`",
            *(f"t.`{column}` = s.`{column}`" for column in key),
        ]
    )
    (
        DeltaTable.forPath(spark, uri)
        .alias("t")
        .merge(unique.alias("s"), condition)
        .whenNotMatchedInsertAll()
        .execute()
    )


def compact(spark: SparkSession, uri: str, dates: set[str]) -> None:
    """Bin-pack the small files of `dates` into few large ones (Delta OPTIMIZE, a new table
    version; the rows do not change). Partitions holding one file are left alone."""
    if not dates:
        return
    shown = ", ".join(_literal(d) for d in sorted(dates))
    DeltaTable.forPath(spark, uri).optimize().where(
        f"`{lake.PARTITION_COLUMN}` IN ({shown})"
    ).executeCompaction()


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
