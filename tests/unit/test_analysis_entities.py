"""Entities: the gazetteer and id patterns, the trained NER, PII on top, the pyfunc contract."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from training.analysis.entities import (
    NerShape,
    build_pipeline,
    extract,
    save_entities,
    train_ner,
)
from training.analysis.gazetteer import place_names
from training.metrics import span_report
from tweetcare.data.generator import generate

BIG_CITIES = 1_000_000  # a small gazetteer keeps the tests quick


def labels_of(found: list[dict]) -> list[tuple[str, str]]:
    return [(e["label"], e["text"]) for e in found]


def as_spans(found: list[list[dict]]) -> list[set[tuple[int, int, str]]]:
    return [{(e["start"], e["end"], e["label"]) for e in f} for f in found]


def test_gazetteer_has_cities_countries_stations_and_airports() -> None:
    names = set(place_names(BIG_CITIES))
    assert {"London", "Chicago", "France", "Texas", "King's Cross", "Heathrow", "JFK"} <= names


def test_rules_find_ids_flights_amounts_places_and_pii() -> None:
    nlp = build_pipeline(BIG_CITIES, with_ner=False)
    text = (
        "@Help order #1234567 and 123-1234567-1234567, flight DL 1234 from Heathrow to "
        "London, charged $45.20, call (949) 044-8562 or jo@gmail.com"
    )
    found = labels_of(extract(nlp, [text])[0])
    assert found == [
        ("ORDER_ID", "#1234567"),
        ("ORDER_ID", "123-1234567-1234567"),
        ("FLIGHT", "DL 1234"),
        ("LOCATION", "Heathrow"),
        ("LOCATION", "London"),
        ("AMOUNT", "$45.20"),
        ("PHONE", "(949) 044-8562"),
        ("EMAIL", "jo@gmail.com"),
    ]


def test_ner_learns_names_from_generated_spans(tmp_path: Path) -> None:
    tweets, labels = generate(3000, seed=9)
    # tweets that hold entities teach the most per second of training
    rich = labels["entities"] != "[]"
    texts = tweets.loc[rich, "text"].tolist()
    spans = [json.loads(cell) for cell in labels.loc[rich, "entities"]]
    nlp = build_pipeline(BIG_CITIES)
    losses = train_ner(nlp, texts[:600], spans[:600], epochs=8, dropout=0.2, seed=0)
    assert losses[-1] < losses[0]
    held = slice(600, 900)
    gold = [{(s["start"], s["end"], s["label"]) for s in g} for g in spans[held]]
    report = span_report(gold, as_spans(extract(nlp, texts[held])))
    with nlp.select_pipes(disable=["ner"]):
        rules_only = span_report(gold, as_spans(extract(nlp, texts[held])))
    # even a few epochs on 600 tweets add what rules cannot know: names, smaller towns
    assert report["f1"] > rules_only["f1"] + 0.05
    assert report["per_label"]["PERSON"]["f1"] > 0.5

    save_entities(nlp, tmp_path / "model")
    loaded = mlflow.pyfunc.load_model(str(tmp_path / "model"))
    out = loaded.predict(pd.DataFrame({"text": ["@Help flight BA117 to Paris, ask for Sarah"]}))
    assert list(out.columns) == ["entities"] and len(out) == 1
    entities = json.loads(out.loc[0, "entities"])
    assert {"start", "end", "label", "text"} <= set(entities[0])
    assert ("FLIGHT", "BA117") in labels_of(entities) and ("LOCATION", "Paris") in labels_of(
        entities
    )


def test_the_ner_tok2vec_takes_the_given_size() -> None:
    nlp = build_pipeline(BIG_CITIES, shape=NerShape(width=32, depth=1, embed_size=500))
    assert nlp.pipe_names == ["ner", "entity_ruler"]
    tok2vec = nlp.config["components"]["ner"]["model"]["tok2vec"]
    assert (tok2vec["width"], tok2vec["depth"], tok2vec["embed_size"]) == (32, 1, 500)
    assert tok2vec["maxout_pieces"] == 3  # spaCy's default unless given


@pytest.mark.parametrize("text", ["", "nothing to see here"])
def test_texts_without_entities_give_empty_lists(text: str) -> None:
    nlp = build_pipeline(BIG_CITIES, with_ner=False)
    assert extract(nlp, [text]) == [[]]
