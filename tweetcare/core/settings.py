"""Typed settings for the running services, read from ``TWEETCARE_*`` environment variables.

Endpoints, ports and state locations live here so that the CLI, the demo, the tests and the
``spark-submit`` job all agree on them; the ML pipeline's knobs live in ``params.yaml`` instead.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWEETCARE_", extra="ignore")

    # where runtime state goes (broker data, logs, pid files, stream checkpoints)
    state_dir: Path = Path(".tweetcare")
    # JVM classpaths resolved from Maven Central by `make jars`
    jars_dir: Path = Path(".jars")

    # Kafka (single KRaft node on loopback)
    kafka_host: str = "127.0.0.1"
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    kafka_heap: str = "512m"
    topic_tweets: str = "tweets"
    topic_tickets: str = "tickets"
    topic_replies: str = "replies"
    topic_dlq: str = "tweets-dlq"
    topic_partitions: int = 3

    # model server
    bento_host: str = "127.0.0.1"
    bento_port: int = 3000
    classify_max_texts: int = Field(default=1024, description="largest list one /classify call takes")
    classify_max_chars: int = Field(default=2000, description="longest text /classify accepts")

    # model registry
    mlflow_tracking_uri: str = "sqlite:///mlflow.db"
    model_name: str = "tweet-inbound"
    model_alias: str = "champion"

    # outputs of the stream
    tickets_db_url: str = "sqlite:///tickets.db"
    lake_dir: Path = Path("lake")
    max_offsets_per_trigger: int = 2000
    trigger_seconds: float = 2.0

    # ticket rules and reply templates (YAML; relative paths fall back to the project root)
    routing_config: Path = Path("config/routing.yaml")
    replies_config: Path = Path("config/replies.yaml")
    # X API credentials for posting replies (empty: not configured, posting stays a dry run)
    x_api_key: str = Field(default="", repr=False)
    x_api_secret: str = Field(default="", repr=False)
    x_access_token: str = Field(default="", repr=False)
    x_access_token_secret: str = Field(default="", repr=False)

    @property
    def kafka_bootstrap(self) -> str:
        return f"{self.kafka_host}:{self.kafka_port}"

    @property
    def bento_url(self) -> str:
        return f"http://{self.bento_host}:{self.bento_port}"

    @property
    def checkpoint_dir(self) -> Path:
        return self.state_dir / "checkpoints" / "stream"

    @property
    def all_topics(self) -> list[str]:
        return [self.topic_tweets, self.topic_tickets, self.topic_replies, self.topic_dlq]

    def to_env(self) -> dict[str, str]:
        """These settings as TWEETCARE_* variables, so a child process (spark-submit,
        bentoml serve) sees exactly what its parent was configured with, from any directory."""
        prefix = self.model_config.get("env_prefix", "")
        return {
            f"{prefix}{name}".upper(): str(value.resolve() if isinstance(value, Path) else value)
            for name, value in self.model_dump().items()
        }


def get_settings() -> Settings:
    """A fresh read of the environment (tests and the demo change it between calls)."""
    return Settings()
