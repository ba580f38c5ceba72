"""The job's session conf: it fills in only what the launch (spark-submit) left unset."""

from __future__ import annotations

from pyspark import SparkConf

from streaming.job import unset_only


def test_the_job_fills_in_only_the_keys_the_launch_left_unset() -> None:
    launched = SparkConf(loadDefaults=False).set("spark.sql.shuffle.partitions", "7")
    wanted = {"spark.sql.shuffle.partitions": "2", "spark.sql.session.timeZone": "UTC"}
    assert unset_only(wanted, launched) == {"spark.sql.session.timeZone": "UTC"}
    assert unset_only(wanted, SparkConf(loadDefaults=False)) == wanted
