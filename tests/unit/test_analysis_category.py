"""Category + flags: the taxonomy file, the keyword rule, language detection, the pyfunc."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from training.analysis.category import (
    OUTPUTS,
    CategoryModel,
    FirstStage,
    Heads,
    TfidfStage,
    cascade,
    fit_head,
    join_flags,
    load_first_stage,
    save_category,
)
from training.analysis.experiment import choose_variant
from training.analysis.language import detect_language
from training.analysis.static import StaticEncoder, distill_static
from training.analysis.taxonomy import KeywordRule, load_taxonomy
from training.encoder import SentenceEncoder, minilm_dir, quantized_minilm
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
def encoder() -> SentenceEncoder:
    return SentenceEncoder(quantized_minilm(), max_length=32, batch_size=16)


EXAMPLES = {
    "delivery": ["my parcel never arrived", "where is my package", "delivery is late again"],
    "travel": ["my flight is delayed", "the train was cancelled", "lost my bag at the airport"],
    "billing": ["charged twice this month", "I want a refund", "my bill is wrong"],
}
FLAG_TEXTS = ["win a free phone click here", "follow back? #F4F", "my parcel is late"]
FLAG_LABELS = ["spam", "spam", ""]


def _heads(embed: object) -> Heads:
    texts = [t for ts in EXAMPLES.values() for t in ts]
    labels = [c for c, ts in EXAMPLES.items() for _ in ts]
    return Heads(
        fit_head(embed(texts), labels, C=10.0),  # type: ignore[operator]
        fit_head(embed(FLAG_TEXTS), FLAG_LABELS, C=10.0),  # type: ignore[operator]
    )


@pytest.fixture(scope="module")
def static() -> StaticEncoder:
    return distill_static(minilm_dir(), pca_dims=32)


@pytest.fixture(scope="module")
def tfidf() -> TfidfStage:
    return TfidfStage.fit([t for ts in EXAMPLES.values() for t in ts] + FLAG_TEXTS, min_df=1)


@pytest.mark.parametrize(
    ("cascade_threshold", "first"), [(None, "static"), (0.99, "static"), (0.99, "tfidf")]
)
def test_pyfunc_loads_and_answers_category_and_flags(
    encoder: SentenceEncoder,
    static: StaticEncoder,
    tfidf: TfidfStage,
    tmp_path: Path,
    cascade_threshold: float | None,
    first: str,
) -> None:
    stage: FirstStage = static if first == "static" else tfidf
    model = CategoryModel(
        32,
        16,
        language_min_letters=25,
        language_min_probability=0.9,
        cascade_threshold=cascade_threshold,
    )
    save_category(
        model, encoder.folder, _heads(encoder.embed), tmp_path / "model", stage, _heads(stage.embed)
    )
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


def test_cascade_sends_only_unsure_tweets_to_the_encoder(
    encoder: SentenceEncoder, static: StaticEncoder
) -> None:
    texts = ["I want a refund", "my flight is delayed", "hmm"]
    seen: list[list[str]] = []

    def minilm(batch: list[str]) -> np.ndarray:
        seen.append(list(batch))
        return encoder.embed(batch)

    heads, static_heads = _heads(encoder.embed), _heads(static.embed)
    _, category_sure, _, flag_sure = static_heads.predict(static.embed(texts))
    both = np.minimum(category_sure, flag_sure)
    threshold = float(np.median(both))  # some tweets above it, some below
    categories, confidence, _, answered = cascade(
        static_heads, static.embed, heads, minilm, texts, threshold
    )
    assert list(answered) == list(both >= threshold)
    assert seen == [[t for t, s in zip(texts, answered, strict=True) if not s]]
    assert len(categories) == 3 and (confidence > 0).all()
    # no threshold: MiniLM answers everything, the static heads are never asked
    seen.clear()
    _, _, _, answered = cascade(None, None, heads, minilm, texts, None)
    assert not answered.any() and seen == [texts]


def test_a_tfidf_first_stage_answers_what_it_is_sure_of_and_round_trips(
    encoder: SentenceEncoder, tfidf: TfidfStage, tmp_path: Path
) -> None:
    texts = ["I want a refund", "my flight is delayed", "zzz qqq"]  # the last: no known word
    seen: list[list[str]] = []

    def minilm(batch: list[str]) -> np.ndarray:
        seen.append(list(batch))
        return encoder.embed(batch)

    first = _heads(tfidf.embed)
    _, category_sure, _, flag_sure = first.predict(tfidf.embed(texts))
    both = np.minimum(category_sure, flag_sure)
    assert both[2] < both[:2].min()  # words it never saw leave it unsure
    threshold = float(both[:2].min())
    categories, _, _, answered = cascade(
        first, tfidf.embed, _heads(encoder.embed), minilm, texts, threshold
    )
    assert categories[:2] == ["billing", "travel"] and answered[:2].all()
    assert not answered[2] and seen == [["zzz qqq"]]
    loaded = load_first_stage(tfidf.save(tmp_path / "first"))
    assert isinstance(loaded, TfidfStage)
    assert (loaded.embed(texts) != tfidf.embed(texts)).nnz == 0


def test_a_static_first_stage_loads_as_one(static: StaticEncoder, tmp_path: Path) -> None:
    assert isinstance(load_first_stage(static.save(tmp_path / "first")), StaticEncoder)


def test_a_cascade_without_its_static_encoder_is_refused(
    encoder: SentenceEncoder, tmp_path: Path
) -> None:
    model = CategoryModel(32, 16, 25, 0.9, cascade_threshold=0.9)
    with pytest.raises(ValueError, match="static encoder"):
        save_category(model, encoder.folder, _heads(encoder.embed), tmp_path / "model")


def test_static_encoder_round_trips(static: StaticEncoder, tmp_path: Path) -> None:
    vectors = static.embed(["my parcel is late", "the app crashes"])
    assert vectors.shape == (2, 32)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    loaded = StaticEncoder.load(static.save(tmp_path / "static"))
    assert np.allclose(loaded.embed(["my parcel is late"]), vectors[:1], atol=1e-3)


@pytest.mark.parametrize(
    ("scores", "chosen"),
    [
        ({"minilm": (0.95, 150.0), "cascade": (0.96, 500.0)}, "cascade"),
        ({"minilm": (0.97, 400.0), "cascade": (0.96, 900.0)}, "minilm"),  # both fast: F1
        ({"minilm": (0.97, 150.0), "cascade": (0.90, 500.0)}, "cascade"),  # budget first
        ({"minilm": (0.97, 150.0), "cascade": (0.90, 250.0)}, "cascade"),  # none fast: fastest
    ],
)
def test_choose_variant_puts_the_speed_budget_before_f1(
    scores: dict[str, tuple[float, float]], chosen: str
) -> None:
    assert choose_variant(scores, min_tweets_per_second=300.0) == chosen


@pytest.mark.parametrize(
    ("scores", "chosen"),
    [
        # 0.005 apart is within 0.01: the five-times-faster TF-IDF cascade wins
        ({"cascade": (0.635, 400.0), "tfidf_cascade": (0.630, 2000.0)}, "tfidf_cascade"),
        # 0.02 apart is a real difference: F1 decides
        ({"cascade": (0.650, 400.0), "tfidf_cascade": (0.630, 2000.0)}, "cascade"),
        # a close variant under the speed budget is never chosen for its speed over a fast one
        ({"minilm": (0.700, 100.0), "cascade": (0.695, 400.0)}, "cascade"),
    ],
)
def test_choose_variant_takes_the_fastest_within_the_f1_tolerance(
    scores: dict[str, tuple[float, float]], chosen: str
) -> None:
    assert choose_variant(scores, min_tweets_per_second=300.0, f1_tolerance=0.01) == chosen
