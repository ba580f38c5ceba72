"""Registering the analysis models: each new version becomes `@champion` of its name.

Unlike tweet-inbound there is no promotion gate between versions yet: the stage retrains all
three on the same data version and its own comparisons (VADER vs trained sentiment, MiniLM vs
TF-IDF vs keywords) decide what is logged, so the newest version is the one to serve.
"""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
from mlflow.tracking import MlflowClient

from tweetcare.core.contract import CHAMPION


@dataclass(frozen=True)
class Registered:
    name: str
    version: str
    run_id: str
    # the logged model it was registered from (register restores it from the stage's copy)
    model_uri: str = ""


def register_champion(model_uri: str, name: str, run_id: str, tags: dict[str, str]) -> Registered:
    """Register ``model_uri`` as a new version of ``name`` and point `@champion` at it."""
    client = MlflowClient()
    version = str(mlflow.register_model(model_uri, name).version)
    client.set_registered_model_alias(name, CHAMPION, version)
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    return Registered(name, version, run_id, model_uri)
