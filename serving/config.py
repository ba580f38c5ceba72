"""Adaptive-batching knobs of the model server (``TWEETCARE_BENTO_*`` environment variables).

BentoML reads `max_batch_size`, `max_latency_ms` and `workers` when the service class is defined, so
these are read when `serving.service` is imported. `batching=false` makes each request its own model
call, which is how the batching benchmark measures the difference.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from tweetcare.core.contract import CHAMPION, registered_names


class BatchingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWEETCARE_BENTO_", extra="ignore")

    # merge concurrent requests into one model call (BentoML adaptive batching)
    batching: bool = True
    # largest batch the model sees; requests with more texts are split into pieces this big
    max_batch_size: int = 256
    # BentoML answers 503 rather than keep a request queued longer than this
    max_latency_ms: int = 10_000
    # processes of the public service (HTTP, validation, the inbound model, each its own
    # batcher): one tops out near 800 single-tweet requests/s on this machine's cores, two
    # served 1,000/s with p99 43 ms (benchmarks/serving_speed.py)
    workers: int = 2
    # trace /classify with OpenTelemetry. Its ASGI middleware took a third of the public workers'
    # CPU on single-tweet requests (1.45 -> 1.0 cores at 1,000 requests/s, p99 63 -> 43 ms), and
    # at BentoML's default sample rate of 0 it records nothing; /analyze is traced either way
    trace_classify: bool = False

    def tracing(self) -> dict[str, dict[str, list[str]]]:
        """The public service's BentoML `tracing` config: /classify left out unless traced."""
        return {} if self.trace_classify else {"tracing": {"excluded_urls": ["/classify"]}}


class AnalysisSettings(BaseSettings):
    """Which registered models /analyze composes (``TWEETCARE_*`` environment variables)."""

    model_config = SettingsConfigDict(env_prefix="TWEETCARE_", extra="ignore")

    # each empty: the name params.yaml's `analysis.model_names` gives it
    sentiment_model_name: str = ""
    category_model_name: str = ""
    entities_model_name: str = ""
    analysis_model_alias: str = CHAMPION
    # customer tweets per analysis call: the entity NER and the TF-IDF heads run ~1.3x faster on
    # 256 than on 64, and one piece of 256 takes well under a second (int8 MiniLM ~500/s)
    analysis_max_batch_size: int = 256
    # /analyze hands the analysis worker ready-made batches, one after another. BentoML's
    # adaptive batching learns a wait from busy periods and then holds each of those sequential
    # calls for it: measured after a burst of 6 concurrent clients, 33 tweets/s with batching
    # against 167 without (benchmarks/analyze_batching.py). Off unless set.
    analysis_batching: bool = False

    @property
    def model_names(self) -> dict[str, str]:
        """role -> registered name, in the order /analyze runs them."""
        overrides = {
            "sentiment": self.sentiment_model_name,
            "category": self.category_model_name,
            "entities": self.entities_model_name,
        }
        names = registered_names().analysis
        return {role: overrides.get(role) or name for role, name in names.items()}
