"""Category + flags: the taxonomy file, the keyword rule, language detection, the MiniLM pyfunc."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from training.analysis.category import OUTPUTS, CategoryModel, fit_head, join_flags, save_category
from training.analysis.language import detect_language
from training.analysis.taxonomy import KeywordRule, load_taxonomy
from training.encoder import MiniLMEncoder, StaticEncoder, distill_static, encoder_dir
from tweetcare.core.errors import UserError
from tweetcare.core.schemas import CATEGORIES


def test_taxonomy_file_lists_the_shared_categories() -> None:
    taxonomy = load_taxonomy()
    assert tuple(taxonomy.categories) == CATEGORIES
    assert all(spec.keywords and spec.description for spec in taxonomy.categories.values())


def test_taxonomy_out_of_step_with_the_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "taxonomy.yaml"
    path.write_text("fallback: other\ncategories:\n  other: {description: x, keywords: [y]}\n")
    with pytest.raises(UserError, match="expected"):
        load_taxonomy(path)


def test_keyword_rule_counts_hits_and_falls_back() -> None:
    rule = KeywordRule.from_taxonomy(load_taxonomy())
    assert rule.predict(
        ["my flight was delayed and my bag is lost", "charged twice, I want a refund", "hi"]
    ) == ["travel", "billing", "other"]


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("@Brand ma commande n'est toujours pas arrivée, c'est inadmissible", False),
        ("@Brand seit dem Update stürzt die App ständig ab, bitte helfen", False),
        ("@Brand my order never arrived and nobody answers the phone", True),
        ("@Brand STILL BROKEN AFTER RESTART", True),  # too short to judge: English
        ("@Brand ugh mondays", True),
    ],
)
def test_language_detection_with_a_short_text_guard(text: str, english: bool) -> None:
    assert (detect_language(text, 25, 0.9) == "en") is english


def test_flags_join_language_and_head() -> None:
    assert join_flags("en", "") == ""
    assert join_flags("fr", "") == "not_english"
    assert join_flags("de", "spam") == "not_english,spam"


@pytest.fixture(scope="module")
def encoder() -> MiniLMEncoder:
    return MiniLMEncoder(encoder_dir(), max_length=32, batch_size=16)


STATIC_CORPUS = [
    "my parcel is late",
    "the app crashes",
    "where is my package",
    "charged twice this month I want a refund",
    "my flight is delayed",
]


def test_static_encoder_distilled_from_minilm_keeps_meaning_and_round_trips(
    encoder: MiniLMEncoder, tmp_path: Path
) -> None:
    static = StaticEncoder(distill_static(encoder_dir(), dims=4, corpus=STATIC_CORPUS))
    vectors = static.embed(["my parcel is late", "where is my package", "the app crashes"])
    assert vectors.shape == (3, 4)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    # the two delivery complaints sit closer to each other than to the app crash
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    loaded = StaticEncoder.load(static.save(tmp_path / "static"))
    assert np.allclose(loaded.embed(["the app crashes"]), vectors[2:], atol=1e-5)


def test_encoder_gives_unit_vectors_in_input_order(encoder: MiniLMEncoder) -> None:
    texts = ["my parcel is late", "the app crashes", "my parcel is late"]
    vectors = encoder.embed(texts)
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert np.allclose(vectors[0], vectors[2], atol=1e-5)
    assert vectors[0] @ vectors[1] < 0.99


def test_pyfunc_loads_and_answers_category_and_flags(
    encoder: MiniLMEncoder, tmp_path: Path
) -> None:
    examples = {
        "delivery": ["my parcel never arrived", "where is my package", "delivery is late again"],
        "travel": ["my flight is delayed", "the train was cancelled", "lost my bag at the airport"],
        "billing": ["charged twice this month", "I want a refund", "my bill is wrong"],
    }
    texts = [t for ts in examples.values() for t in ts]
    labels = [c for c, ts in examples.items() for _ in ts]
    vectors = encoder.embed(texts)
    category_head = fit_head(vectors, labels, C=10.0)
    flag_texts = ["win a free phone click here", "follow back? #F4F", "my parcel is late"]
    flag_head = fit_head(encoder.embed(flag_texts), ["spam", "spam", ""], C=10.0)
    model = CategoryModel(32, 16, language_min_letters=25, language_min_probability=0.9)
    save_category(model, category_head, flag_head, tmp_path / "model")
    loaded = mlflow.pyfunc.load_model(str(tmp_path / "model"))
    out = loaded.predict(
        pd.DataFrame(
            {
                "text": [
                    "@Brand the courier still has not delivered my package",
                    "@Brand mon vol est encore retardé, personne ne nous informe de rien",
                ]
            }
        )
    )
    assert list(out.columns) == list(OUTPUTS)
    assert out.loc[0, "category"] == "delivery"
    assert out["category_confidence"].between(0.0, 1.0).all()
    assert out.loc[0, "language"] == "en" and out.loc[0, "flags"] == ""
    assert out.loc[1, "flags"].split(",")[0] == "not_english"
