"""Typed access to params.yaml, the pipeline's single source of configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

DEFAULT_PARAMS = Path("params.yaml")


class DataParams(BaseModel):
    raw: Path
    labels: Path


class GenerateParams(BaseModel):
    rows: int
    seed: int


class ValidateParams(BaseModel):
    min_text_chars: int
    max_text_chars: int
    min_inbound_share: float
    max_inbound_share: float
    # share of all tweets whose in_response_to_tweet_id points outside the file
    max_dangling_parent_share: float


class SplitSizes(BaseModel):
    train: int
    val: int
    test: int


class SplitParams(BaseModel):
    profile: str
    seed: int
    profiles: dict[str, SplitSizes]

    @property
    def sizes(self) -> SplitSizes:
        if self.profile not in self.profiles:
            known = ", ".join(sorted(self.profiles))
            raise ValueError(f"unknown split profile {self.profile!r}; known profiles: {known}")
        return self.profiles[self.profile]


class BaselineParams(BaseModel):
    C: float
    max_features: int
    ngram_max: int
    min_df: int


class TrainParams(BaseModel):
    mask_handles: bool
    baseline: BaselineParams


class RegisterParams(BaseModel):
    model_name: str
    min_tweets_per_second: float
    latency_batch: int


class Params(BaseModel):
    data: DataParams
    generate: GenerateParams
    # aliased: `validate` and `register` would shadow BaseModel attributes
    validate_: ValidateParams = Field(alias="validate")
    split: SplitParams
    train: TrainParams
    register_: RegisterParams = Field(alias="register")

    model_config = ConfigDict(populate_by_name=True)


def load_params(path: Path = DEFAULT_PARAMS) -> Params:
    raw: dict[str, Any] = yaml.safe_load(path.read_text())
    return Params.model_validate(raw)
