"""One registered champion in a process of its own (imports nothing from the project).

A pyfunc unpickles against whatever `training` and `tweetcare` modules the process already
imported, and the test session imports the working tree's: a model trained on older code would be
judged with today's code (or fail to load). Alone in a fresh process the model runs the code it
was packaged with, as `benchmarks/category_versions.py` loads its versions.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd

_model: Any = None


def load(tracking_uri: str, model_uri: str) -> None:
    """The worker's initializer: load `model_uri` from the registry once."""
    global _model
    mlflow.set_tracking_uri(tracking_uri)
    _model = mlflow.pyfunc.load_model(model_uri)


def predict(texts: list[str]) -> pd.DataFrame:
    return _model.predict(pd.DataFrame({"text": texts})).reset_index(drop=True)
