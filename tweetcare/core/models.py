"""The registered models' contract: name, alias, MLflow experiment, tags and serving budget.

Read from the `models:` block of params.yaml, the one place these are written down. Training
logs and registers under these names, the promotion gate enforces each budget, the server loads
`name@alias`, and the CLI and the console look the same names up, all through this module. It
lives in `tweetcare.core` so every layer may import it without pulling in training or serving.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

CHAMPION = "champion"
# tags the gate and the comparison write, and the console reads
DECISION_TAG = "promotion.decision"
REASON_TAG = "promotion.reason"
WINNER_TAG = "comparison.winner"
# the project's own params.yaml, for processes started outside the project folder
_PROJECT_PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"
ROLES = ("inbound", "sentiment", "category", "entities")
# the analysis models /analyze composes, in the order it runs them
ANALYSIS_ROLES = ROLES[1:]


class RegisteredModel(BaseModel):
    """One registered model: what it is called and what it must deliver to become champion."""

    model_config = ConfigDict(extra="forbid")

    name: str
    experiment: str
    # the alias the server loads and the gate sets for a promoted version
    alias: str = CHAMPION
    # the gate refuses `alias` to a candidate slower than this at `latency_batch` texts per call
    min_tweets_per_second: float
    tags: dict[str, str] = Field(default_factory=dict)

    @property
    def uri(self) -> str:
        """`models:/name@alias`: what the server loads."""
        return f"models:/{self.name}@{self.alias}"


class ModelContract(BaseModel):
    """Every registered model by role, and the batch size their budgets are measured at."""

    model_config = ConfigDict(extra="forbid")

    latency_batch: int = 256
    inbound: RegisteredModel
    sentiment: RegisteredModel
    category: RegisteredModel
    entities: RegisteredModel

    def role(self, role: str) -> RegisteredModel:
        if role not in ROLES:
            raise KeyError(f"unknown model role {role!r}; known: {', '.join(ROLES)}")
        model: RegisteredModel = getattr(self, role)
        return model

    @property
    def analysis(self) -> dict[str, RegisteredModel]:
        """role -> model, for the models /analyze runs on customer tweets."""
        return {role: self.role(role) for role in ANALYSIS_ROLES}


def params_file(path: Path | None = None) -> Path:
    """``path``, else ./params.yaml, else the project's own params.yaml."""
    if path is not None:
        return path
    local = Path("params.yaml")
    return local if local.is_file() else _PROJECT_PARAMS


def contract_from(raw: dict[str, Any]) -> ModelContract:
    return ModelContract.model_validate(raw)


@cache
def _load(path: Path) -> ModelContract:
    raw = yaml.safe_load(path.read_text()) or {}
    return contract_from(raw.get("models") or {})


def model_contract(path: Path | None = None) -> ModelContract:
    """The `models:` block of params.yaml (read once per file)."""
    return _load(params_file(path).resolve())
