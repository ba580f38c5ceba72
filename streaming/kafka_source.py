"""Spark's Kafka source for the job's two queries, set up one way from the settings."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from tweetcare.core.settings import Settings


def read_topic(spark: SparkSession, settings: Settings, topic: str, max_offsets: int) -> DataFrame:
    """`topic` from its earliest offset on a first start (the checkpoint's afterwards), at most
    `max_offsets` records a micro-batch; lost offsets stop the query unless configured not to."""
    return (
        spark.readStream.format("kafka")
        .options(**settings.spark_kafka_options())
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("maxOffsetsPerTrigger", str(max_offsets))
        .option("failOnDataLoss", str(settings.fail_on_data_loss).lower())
        .load()
    )
