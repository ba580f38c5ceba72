"""Adaptive-batching knobs of the model server (``TWEETCARE_BENTO_*`` environment variables).

BentoML reads `max_batch_size` and `max_latency_ms` when the service class is defined, so these
are read when `serving.service` is imported. `batching=false` makes each request its own model
call, which is how the batching benchmark measures the difference.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class BatchingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWEETCARE_BENTO_", extra="ignore")

    # merge concurrent requests into one model call (BentoML adaptive batching)
    batching: bool = True
    # largest batch the model sees; requests with more texts are split into pieces this big
    max_batch_size: int = 256
    # BentoML answers 503 rather than keep a request queued longer than this
    max_latency_ms: int = 10_000


class AnalysisSettings(BaseSettings):
    """Batching of /analyze's models (``TWEETCARE_*``); their names come from params.yaml."""

    model_config = SettingsConfigDict(env_prefix="TWEETCARE_", extra="ignore")

    # largest batch of customer tweets the analysis models see in one call
    analysis_max_batch_size: int = 256
