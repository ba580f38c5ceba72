"""Typed settings for the running services, read from ``TWEETCARE_*`` environment variables.

Endpoints, ports and state locations live here so that the CLI, the demo, the tests and the
``spark-submit`` job all agree on them; the ML pipeline's knobs live in ``params.yaml`` instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from tweetcare.core.contract import CHALLENGER, CHAMPION, registered_names
from tweetcare.core.redact import redact, redact_conf


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWEETCARE_", extra="ignore")

    # where runtime state goes (broker data, logs, pid files, stream checkpoints)
    state_dir: Path = Path(".tweetcare")
    # JVM classpaths resolved from Maven Central by `make jars`
    jars_dir: Path = Path(".jars")

    # Kafka: an existing cluster by its bootstrap list, else the single local KRaft node below
    kafka_bootstrap_servers: str = Field(
        default="", description="host1:9092,host2:9092; empty: the local broker at host:port"
    )
    # extra kafka-python client options as JSON, e.g. {"security_protocol": "SASL_SSL",
    # "sasl_mechanism": "SCRAM-SHA-512", "sasl_plain_username": "care"}; secrets come from
    # TWEETCARE_KAFKA_SASL_PASSWORD / TWEETCARE_KAFKA_SSL_PASSWORD, never from this JSON
    kafka_client_config: dict[str, Any] = Field(default_factory=dict)
    kafka_sasl_password: str = Field(default="", repr=False)
    kafka_ssl_password: str = Field(default="", repr=False)
    topic_replication_factor: int = 1
    kafka_host: str = "127.0.0.1"
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    kafka_heap: str = "512m"
    topic_tweets: str = "tweets"
    topic_tickets: str = "tickets"
    topic_replies: str = "replies"
    topic_dlq: str = "tweets-dlq"
    topic_partitions: int = 3
    # the stream's scored lake rows on their way from the care query to the lake query
    # (streaming/job.py); empty: `<topic_tweets>-lake`, so each stream has its own
    topic_lake_rows: str = ""
    # how long the topics the lake is made from (`topic_tweets`, the lake rows topic) keep a
    # record: longer than any outage of the lake's MERGE, so no row expires before it is in the
    # lake; set when tweetcare creates them and raised at the stream's start where shorter.
    # retention bytes -1: no size limit
    lake_topics_retention_ms: int = Field(default=7 * 24 * 3600 * 1000, gt=0)
    lake_topics_retention_bytes: int = Field(default=-1, ge=-1)
    # the stream says (log, `alerts` topic, `stream status`) when scored rows older than this
    # still wait to be merged into the lake; checked this often while it runs
    lake_lag_alert_seconds: float = Field(default=900.0, gt=0)
    lake_lag_check_seconds: float = Field(default=60.0, gt=0)
    # largest message on that topic: a dead letter keeps a whole raw record (up to the
    # broker's 1 MB), which JSON escaping can make several times larger
    lake_rows_max_bytes: int = 16 * 2**20
    # topics created by tweetcare: a write is acknowledged once this many replicas have it
    # (with the producer's acks=all); 2 with replication factor 3 survives one broker down
    topic_min_insync_replicas: int = 1

    # monitoring: drift breaches and escalation alerts (tweetcare.monitoring) go to this topic
    topic_alerts: str = "alerts"

    # model server
    bento_host: str = "127.0.0.1"
    bento_port: int = 3000
    classify_max_texts: int = Field(
        default=1024, description="largest list one /classify call takes"
    )
    classify_max_chars: int = Field(default=2000, description="longest text /classify accepts")
    # how long a stream task waits out a model server that is down before its batch fails (the
    # supervisor then restarts the job, which replays the batch from its checkpoint)
    model_server_wait_seconds: float = Field(default=300.0, gt=0)
    # how often the stream sends a text alone that makes the model server fail (HTTP 500) before
    # it dead-letters it (a server that fails on every text is an outage, waited out instead)
    model_server_error_tries: int = Field(default=3, ge=1)

    # model registry
    # the standard MLFLOW_TRACKING_URI works too (TWEETCARE_MLFLOW_TRACKING_URI wins); MLflow
    # itself reads MLFLOW_REGISTRY_URI for the model registry when it is set
    mlflow_tracking_uri: str = Field(
        default="sqlite:///mlflow.db",
        validation_alias=AliasChoices(
            "TWEETCARE_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI", "mlflow_tracking_uri"
        ),
    )
    # the inbound model's registered name; empty: params.yaml's `register.model_name`
    model_name: str = ""
    model_alias: str = CHAMPION
    # the alias the server also loads and scores every tweet with, in the shadow of the
    # champion (its answers go to the lake, never to tickets); "" turns shadow scoring off
    shadow_alias: str = CHALLENGER

    # Spark: `local[2]` on this machine, `spark://host:7077` for a standalone cluster; extra
    # Spark conf as JSON, e.g. {"spark.executor.memory": "2g"}
    spark_master: str = "local[2]"
    spark_conf: dict[str, str] = Field(default_factory=dict)

    # outputs of the stream
    tickets_db_url: str = "sqlite:///tickets.db"
    lake_dir: Path = Path("lake")
    # the lake and the stream's checkpoint as URIs (file://, s3a://); empty: lake_dir and
    # state_dir/checkpoints/stream on the local disk
    lake_uri: str = ""
    checkpoint_uri: str = ""
    # an S3 API endpoint (AWS when empty) and its credentials, for s3a:// locations
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    aws_access_key_id: str = Field(default="", repr=False)
    aws_secret_access_key: str = Field(default="", repr=False)
    # the care query's micro-batches: each takes what arrived since the last one, up to this
    # many tweets, so a batch grows with the backlog. Measured side by side (benchmarks/
    # stream.py, 20,000 tweets flat out): 2,000 and 2 s gave 340 rows/s and 3.2 CPU s per 1,000
    # tweets in the job; 10,000 and 1 s gave 470 rows/s and 2.3 s (each batch's planning, task
    # launches and per-task set-up spread over more tweets), and p99 tweet to ticket 3.4 s at
    # 100 tweets/s, against 4.0 s (a tweet waits for the next trigger)
    max_offsets_per_trigger: int = Field(default=10_000, ge=1)
    trigger_seconds: float = Field(default=1.0, gt=0)
    # the lake query merges the scored rows this often, off the tickets' path: a Delta MERGE
    # costs about 2 s however few rows it has (benchmarks/stream.py), so it runs on fewer,
    # larger batches than the scoring
    lake_trigger_seconds: float = 10.0
    lake_max_offsets_per_trigger: int = 50_000
    # every this many of the lake query's batches, bin-pack the small files they left in the
    # date partitions they wrote (Delta OPTIMIZE); 0: never. Delta's auto compaction after
    # every commit did the same at ~8 s per 2,000-tweet batch on 2 cores (benchmarks/stream.py)
    lake_compact_every: int = 10
    # stop the stream when Kafka lost offsets it has not read (retention, a recreated topic)
    fail_on_data_loss: bool = True
    # the supervisor gives up on a job that failed this many times in a row, each within two
    # minutes of its start (a crash loop a restart cannot mend: `stream status` says why); an
    # outage the job waits out for longer than that does not count. 0: restart for ever
    stream_max_failures: int = Field(default=30, ge=0)

    # ticket rules and reply templates (YAML; relative paths fall back to the project root)
    routing_config: Path = Path("config/routing.yaml")
    replies_config: Path = Path("config/replies.yaml")
    # X API credentials for posting replies (empty: not configured, posting stays a dry run)
    x_api_key: str = Field(default="", repr=False)
    x_api_secret: str = Field(default="", repr=False)
    x_access_token: str = Field(default="", repr=False)
    x_access_token_secret: str = Field(default="", repr=False)

    # ingesting from X (`tweetcare ingest x`): the API v2 base URL (a stand-in in tests), the
    # app-only bearer token (empty: ingest refuses to start), the rules file, how often
    # mentions are polled; console sign-in: the agents' hashed passwords (`tweetcare users add`)
    x_api_base_url: str = "https://api.x.com"
    x_bearer_token: str = Field(default="", repr=False)
    x_rules_config: Path = Path("config/x_rules.yaml")
    x_mentions_poll_seconds: float = Field(default=60.0, gt=0)
    console_users_file: Path = Path(".tweetcare/users.yaml")
    # console sign-in throttling: this many failed sign-ins in a row lock the agent's name out
    # for the lockout's length (a new password from `tweetcare users add` lifts it at once)
    console_max_failed_sign_ins: int = Field(default=5, gt=0)
    console_sign_in_lockout_seconds: float = Field(default=900.0, gt=0)
    # how long a post run holds a reply it hands to X: longer than any one X call, so another
    # run takes over (marks it unclear) only a reply whose run died
    reply_post_lease_seconds: float = Field(default=300.0, gt=0)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """The repr a log line or a traceback shows: credentials fields are left out
        (`repr=False`), passwords inside URLs and secret conf values are masked."""
        for name, value in super().__repr_args__():
            if isinstance(value, str):
                yield name, redact(value)
            elif isinstance(value, dict):
                yield name, redact_conf(value)
            else:
                yield name, value

    @property
    def kafka_bootstrap(self) -> str:
        return self.kafka_bootstrap_servers or f"{self.kafka_host}:{self.kafka_port}"

    def kafka_client_options(self) -> dict[str, Any]:
        """Keyword arguments every kafka-python client (producer, consumer, admin) takes."""
        options: dict[str, Any] = {"bootstrap_servers": self.kafka_bootstrap.split(",")}
        options.update(self.kafka_client_config)
        if self.kafka_sasl_password:
            options["sasl_plain_password"] = self.kafka_sasl_password
        if self.kafka_ssl_password:
            options["ssl_password"] = self.kafka_ssl_password
        return options

    def spark_kafka_options(self) -> dict[str, str]:
        """The same connection for Spark's Kafka source and sink (`kafka.`-prefixed Java keys)."""
        options = {"kafka.bootstrap.servers": self.kafka_bootstrap}
        for key, value in self.kafka_client_config.items():
            options[f"kafka.{key.replace('_', '.')}"] = str(value)
        if self.kafka_sasl_password:
            user = self.kafka_client_config.get("sasl_plain_username", "")
            mechanism = str(self.kafka_client_config.get("sasl_mechanism", "PLAIN")).upper()
            module = (
                "org.apache.kafka.common.security.scram.ScramLoginModule"
                if mechanism.startswith("SCRAM")
                else "org.apache.kafka.common.security.plain.PlainLoginModule"
            )
            options.pop("kafka.sasl.plain.username", None)
            options["kafka.sasl.jaas.config"] = (
                f'{module} required username="{user}" password="{self.kafka_sasl_password}";'
            )
        if self.kafka_ssl_password:
            options["kafka.ssl.key.password"] = self.kafka_ssl_password
        return options

    @property
    def lake_location(self) -> str:
        """Where the lake lives, as a URI or an absolute local path."""
        return self.lake_uri or str(self.lake_dir.resolve())

    @property
    def checkpoint_location(self) -> str:
        return self.checkpoint_uri or str(self.checkpoint_dir.resolve())

    @property
    def lake_checkpoint_location(self) -> str:
        """The lake query's checkpoint, beside the care query's (`checkpoint_location`)."""
        return self.checkpoint_location.rstrip("/") + "-lake"

    @property
    def lake_rows_topic(self) -> str:
        return self.topic_lake_rows or f"{self.topic_tweets}-lake"

    @property
    def bento_url(self) -> str:
        return f"http://{self.bento_host}:{self.bento_port}"

    @property
    def checkpoint_dir(self) -> Path:
        return self.state_dir / "checkpoints" / "stream"

    @property
    def all_topics(self) -> list[str]:
        return [
            self.topic_tweets,
            self.topic_tickets,
            self.topic_replies,
            self.topic_dlq,
            self.topic_alerts,
            self.lake_rows_topic,
        ]

    @property
    def inbound_model(self) -> str:
        """The inbound model's registered name: `model_name`, else the one params.yaml gives."""
        return self.model_name or registered_names().inbound

    def to_env(self) -> dict[str, str]:
        """These settings as TWEETCARE_* variables, so a child process (spark-submit,
        bentoml serve) sees exactly what its parent was configured with, from any directory."""
        prefix = self.model_config.get("env_prefix", "")
        return {
            f"{prefix}{name}".upper(): _env_value(value)
            for name, value in self.model_dump().items()
        }


def _env_value(value: Any) -> str:
    if isinstance(value, Path):
        return str(value.resolve())
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def get_settings() -> Settings:
    """A fresh read of the environment (tests and the demo change it between calls)."""
    return Settings()
