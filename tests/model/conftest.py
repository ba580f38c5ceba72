"""The registered champions that the behavioural tests check, each loaded once per session.

`pytest tests/model --tracking-uri sqlite:////path/to/mlflow.db` tests a real registry (Made-With-ML
takes `--run-id` the same way); without the option they test the session's `dvc repro` of the
project on tiny params (`trained_project`). `make test` leaves them out (marker `model`): they
judge a trained model, which the tiny one is not; `make test-model TRACKING_URI=...` runs them
against the registry `dvc repro` or `make demo` trained.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor

import pandas as pd
import pytest

from tests.fixtures.project import tracking_uri
from tests.model import champion
from tweetcare.core.contract import CHAMPION, registered_names

# the registered names, as params.yaml gives them
NAMES = registered_names()
INBOUND = NAMES.inbound
SENTIMENT = NAMES.analysis["sentiment"]
CATEGORY = NAMES.analysis["category"]
ENTITIES = NAMES.analysis["entities"]

Predict = Callable[[list[str]], pd.DataFrame]


@pytest.fixture(scope="session")
def model_registry(request: pytest.FixtureRequest) -> str:
    """The tracking URI the champions come from: `--tracking-uri`, else the tiny trained project."""
    uri = request.config.getoption("--tracking-uri")
    if uri:
        return str(uri)
    return tracking_uri(request.getfixturevalue("trained_project"))


@pytest.fixture(scope="session")
def champions(model_registry: str) -> Iterator[Callable[[str], Predict]]:
    """`name` -> predict(texts) of `name@champion`, each model loaded on first use in a process
    of its own (see `tests.model.champion`) that lives for the session."""
    workers: dict[str, ProcessPoolExecutor] = {}
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: no project modules
    with pytest.MonkeyPatch.context() as patch:
        # the MiniLM category model must not reach the Hugging Face Hub (the workers inherit it)
        patch.setenv("HF_HUB_OFFLINE", "1")

        def get(name: str) -> Predict:
            if name not in workers:
                model_uri = f"models:/{name}@{CHAMPION}"
                workers[name] = ProcessPoolExecutor(
                    1, spawn, initializer=champion.load, initargs=(model_registry, model_uri)
                )
            worker = workers[name]
            return lambda texts: worker.submit(champion.predict, texts).result()

        try:
            yield get
        finally:
            for worker in workers.values():
                worker.shutdown(cancel_futures=True)


@pytest.fixture(scope="session")
def inbound(champions: Callable[[str], Predict]) -> Predict:
    """`label`, `inbound`, `probability` per text."""
    return champions(INBOUND)


@pytest.fixture(scope="session")
def sentiment(champions: Callable[[str], Predict]) -> Predict:
    """`sentiment` and `sentiment_score` in [-1, 1] per text."""
    return champions(SENTIMENT)


@pytest.fixture(scope="session")
def category(champions: Callable[[str], Predict]) -> Predict:
    """`category`, `category_confidence`, `language` and `flags` per text."""
    return champions(CATEGORY)


@pytest.fixture(scope="session")
def entities(champions: Callable[[str], Predict]) -> Predict:
    """`entities`: a JSON list of {start, end, label, text} per text."""
    return champions(ENTITIES)
