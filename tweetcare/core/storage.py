"""Where the lake's Delta tables live and how every reader and writer reaches them.

One mapping from settings to storage access, shared by the Spark job (Hadoop `fs.s3a.*` conf) and
the readers outside Spark (the `deltalake` package's `storage_options`): summary, console,
benchmarks. Locations are URIs (`s3a://bucket/lake`) or absolute local paths.
"""

from __future__ import annotations

import pyarrow as pa
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

from tweetcare.core.settings import Settings

TWEETS_TABLE = "tweets"
DEAD_LETTERS_TABLE = "dead_letters"


def table_uri(location: str, table: str) -> str:
    """`location` joined with a table name, without touching any filesystem."""
    return f"{location.rstrip('/')}/{table}"


def lake_table_uri(settings: Settings, table: str) -> str:
    return table_uri(settings.lake_location, table)


def is_s3(location: str) -> bool:
    return location.split("://", 1)[0] in ("s3", "s3a", "s3n") if "://" in location else False


def hadoop_s3a_conf(settings: Settings) -> dict[str, str]:
    """Spark conf (`spark.hadoop.fs.s3a.*`) for s3a:// lake and checkpoint locations."""
    conf: dict[str, str] = {}
    if settings.s3_endpoint_url:
        conf["spark.hadoop.fs.s3a.endpoint"] = settings.s3_endpoint_url
        conf["spark.hadoop.fs.s3a.path.style.access"] = "true"
        secure = settings.s3_endpoint_url.startswith("https://")
        conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] = str(secure).lower()
    if settings.s3_region:
        conf["spark.hadoop.fs.s3a.endpoint.region"] = settings.s3_region
    if settings.aws_access_key_id:
        conf["spark.hadoop.fs.s3a.access.key"] = settings.aws_access_key_id
        conf["spark.hadoop.fs.s3a.secret.key"] = settings.aws_secret_access_key
        conf["spark.hadoop.fs.s3a.aws.credentials.provider"] = (
            "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
        )
    return conf


def delta_storage_options(settings: Settings) -> dict[str, str]:
    """`storage_options` for the `deltalake` package (delta-rs) reading the same tables."""
    options: dict[str, str] = {}
    if settings.s3_endpoint_url:
        options["AWS_ENDPOINT_URL"] = settings.s3_endpoint_url
        options["AWS_ALLOW_HTTP"] = str(settings.s3_endpoint_url.startswith("http://")).lower()
        options["AWS_S3_ALLOW_UNSAFE_RENAME"] = "true"
    if settings.s3_region:
        options["AWS_REGION"] = settings.s3_region
    if settings.aws_access_key_id:
        options["AWS_ACCESS_KEY_ID"] = settings.aws_access_key_id
        options["AWS_SECRET_ACCESS_KEY"] = settings.aws_secret_access_key
    return options


def reader_uri(uri: str) -> str:
    """delta-rs names S3 `s3://`; Hadoop's `s3a://` means the same bucket."""
    for prefix in ("s3a://", "s3n://"):
        if uri.startswith(prefix):
            return "s3://" + uri[len(prefix) :]
    return uri


def open_table(settings: Settings, table: str, version: int | None = None) -> DeltaTable | None:
    """A lake table for readers outside Spark (at `version` for time travel); None until the
    stream has created it."""
    uri = reader_uri(lake_table_uri(settings, table))
    options = delta_storage_options(settings)
    try:
        return DeltaTable(uri, version=version, storage_options=options or None)
    except TableNotFoundError:
        return None


def read_table(
    settings: Settings, table: str, columns: list[str] | None = None, version: int | None = None
) -> pa.Table | None:
    """A lake table's rows (only `columns` when given), or None when it does not exist yet."""
    delta = open_table(settings, table, version)
    if delta is None:
        return None
    return delta.to_pyarrow_dataset().to_table(columns=columns)
