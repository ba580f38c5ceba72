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


# Delta's own auto compaction: after a commit leaves many small files, it bin-packs them, so a
# long-running stream's MERGE keeps reading a few files per date instead of one per micro-batch
TABLE_PROPERTIES = {"delta.autoOptimize.autoCompact": "true"}


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
        if DeltaTable.isDeltaTable(spark, uri):
            add_missing_columns(spark, uri, schema)
            continue
        builder = (
            DeltaTable.createIfNotExists(spark)
            .location(uri)
            .addColumns(from_arrow_schema(schema))
            .partitionedBy(*partitions)
        )
        for key, value in TABLE_PROPERTIES.items():
            builder = builder.property(key, value)
        builder.execute()


def add_missing_columns(spark: SparkSession, uri: str, schema: pa.Schema) -> None:
    """Add the schema's columns the table lacks, at the end (a metadata-only Delta commit)."""
    have = set(DeltaTable.forPath(spark, uri).toDF().columns)
    missing = [f for f in from_arrow_schema(schema).fields if f.name not in have]
    if missing:
        columns = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in missing)
        spark.sql(f"ALTER TABLE delta.`{uri}` ADD COLUMNS ({columns})")


def merge_new(
    spark: SparkSession, uri: str, rows: DataFrame, key: list[str], dates: list[str]
) -> None:
    """Insert the rows whose key the table does not hold yet (one per key), in `dates` only."""
    if not dates:
        return
    unique = rows.dropDuplicates(key)
    shown = ", ".join(_literal(d) for d in sorted(dates))
    condition = " AND ".join(
        [
            f"t.`{lake.PARTITION_COLUMN}` IN ({shown})",
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


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
