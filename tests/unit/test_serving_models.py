"""Loading registered models: each version with the code it was logged with."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from serving.models import load_with_own_code

PACKAGE = "tweetcare_packaged_probe"  # stands in for `training`, which the test process uses
MODULE = """
import mlflow

VERSION = {version!r}


class Model(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return [VERSION] * len(model_input)
"""


def _forget() -> None:
    for module in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
        del sys.modules[module]


def _logged(tmp: Path, version: str) -> str:
    """A pyfunc whose class lives in PACKAGE, logged with that package as its code."""
    source = tmp / f"code-{version}"
    (source / PACKAGE).mkdir(parents=True)
    (source / PACKAGE / "__init__.py").write_text(MODULE.format(version=version))
    sys.path.insert(0, str(source))
    try:
        _forget()
        model = __import__(PACKAGE).Model()
        path = tmp / f"model-{version}"
        mlflow.pyfunc.save_model(str(path), python_model=model, code_paths=[str(source / PACKAGE)])
    finally:
        sys.path.remove(str(source))
        _forget()
    return str(path)


@pytest.fixture
def versions(tmp_path: Path) -> Iterator[tuple[str, str]]:
    saved_path = list(sys.path)
    yield _logged(tmp_path, "old"), _logged(tmp_path, "new")
    sys.path[:] = saved_path
    _forget()


def _answer(model: object) -> str:
    return model.predict(pd.DataFrame({"text": ["x"]}))[0]  # type: ignore[attr-defined]


def test_plain_mlflow_loads_a_second_version_with_the_first_ones_code(
    versions: tuple[str, str],
) -> None:
    """The trap the loader avoids (if MLflow fixes it, the loader's forgetting is moot)."""
    old, new = versions
    mlflow.pyfunc.load_model(old)
    assert _answer(mlflow.pyfunc.load_model(new)) == "old"


def test_each_version_runs_its_own_code(versions: tuple[str, str]) -> None:
    old, new = versions
    first = load_with_own_code(old, PACKAGE)
    second = load_with_own_code(new, PACKAGE)
    assert (_answer(first), _answer(second)) == ("old", "new")
