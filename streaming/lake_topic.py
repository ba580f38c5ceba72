"""The scored rows' way from the care query to the lake query: one Kafka topic, JSON values.

The care query (scoring, tickets, output topics) must not wait for the lake: a Delta MERGE costs
about 2 s however few rows it has, and every tweet of the next micro-batch waited for it. So the
care query sends each batch's lake rows (tweets, dead letters and the partitions' statistics, all
of `lake.OUTPUT_SCHEMA`) to `settings.lake_rows_topic` in the same Kafka write as its tickets and
replies, and the lake query merges them on its own, longer trigger. Spark encodes and decodes
the rows itself (`to_json`/`from_json`, microsecond timestamps), so nothing leaves the JVM.

The Kafka sink delivers at least once; the lake's MERGE on each table's key makes the lake exactly
once, as before.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from streaming import lake
from streaming.kafka_source import read_topic
from tweetcare.core.settings import Settings

OUTPUT_SPARK_SCHEMA = from_arrow_schema(lake.OUTPUT_SCHEMA)
# to_json writes milliseconds by default; the lake keeps microseconds
JSON_OPTIONS = {"timestampFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX"}
LAKE_KINDS = (lake.KIND_TWEET, lake.KIND_DEAD, lake.KIND_STATS)
ROW_COLUMNS = [name for name in lake.OUTPUT_SCHEMA.names if name != "out_topic"]


def outgoing(scored: DataFrame, settings: Settings) -> DataFrame:
    """Every row of a scored batch as a Kafka record (`topic`, `key`, `value`): messages to their
    output topic, lake rows to the lake rows topic.

    A partition's lake rows all carry its batch key (`out_key`), so they share one partition of
    the lake rows topic, in the order the executor wrote them: its statistics come last, and the
    lake query never records them before the rows they count.
    """
    is_message = F.col("kind") == lake.KIND_MESSAGE
    row = F.to_json(F.struct(*ROW_COLUMNS), JSON_OPTIONS)
    return scored.where(F.col("kind").isin(lake.KIND_MESSAGE, *LAKE_KINDS)).select(
        F.when(is_message, F.col("out_topic"))
        .otherwise(F.lit(settings.lake_rows_topic))
        .alias("topic"),
        F.col("out_key").alias("key"),
        F.when(is_message, F.col("out_value")).otherwise(row).alias("value"),
    )


def sink_options(settings: Settings) -> dict[str, str]:
    """The Kafka sink's options: the connection, and requests as large as the largest lake row."""
    return {
        **settings.spark_kafka_options(),
        "kafka.max.request.size": str(settings.lake_rows_max_bytes),
    }


def read_lake_rows(spark: SparkSession, settings: Settings) -> DataFrame:
    """The lake rows topic as a stream of `lake.OUTPUT_SCHEMA` rows (`decode`)."""
    topic = settings.lake_rows_topic
    return decode(read_topic(spark, settings, topic, settings.lake_max_offsets_per_trigger))


def decode(records: DataFrame) -> DataFrame:
    """Kafka records' `value`s back into `lake.OUTPUT_SCHEMA` rows. A value that is not a lake
    row (written there by something else) keeps a `kind` outside `LAKE_KINDS` (null when it is
    not even JSON): the lake query merges only its own kinds and logs how many it left out."""
    parsed = F.from_json(F.col("value").cast("string"), OUTPUT_SPARK_SCHEMA, JSON_OPTIONS)
    return records.select(parsed.alias("row")).select("row.*")
