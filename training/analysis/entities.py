"""Entities in customer tweets: a trained spaCy NER, a gazetteer and patterns, and the PII rules.

Three layers, each doing what it is best at. The statistical NER (trained on the generated
spans) finds names and places from context; the entity ruler then overwrites it wherever a
gazetteer place or a pattern for order ids, flight numbers and amounts matches; last, phone
numbers and emails come from `tweetcare.core.pii`, the same rules that mask them everywhere else.
"""

from __future__ import annotations

import json
import random
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from tqdm import tqdm

from training.analysis.gazetteer import place_names
from training.pyfunc import analysis_requirements, log_pyfunc, save_pyfunc, signature, texts_of
from tweetcare.core.pii import find_pii

PII_LABELS = ("PHONE", "EMAIL")
# what the statistical NER learns: names and places need context. Order ids, flight numbers and
# amounts are the ruler's (exact-span F1 0.99-1.0 from patterns alone); each label the NER also
# learned cost it speed (spaCy's transition loop checks every action at every token) and bought
# nothing: 4,000 generated tweets, 64/2 tok2vec, F1 0.987 and ~1,800 tweets/s with these two
NER_LABELS = ("LOCATION", "PERSON")
SPACY_ARTIFACT = "spacy_pipeline"
OUTPUTS = {"entities": "string"}  # a JSON list of {start, end, label, text}
# nlp.pipe batch (the NER parses sub-batches of a quarter of it): with the small tok2vec of
# params.yaml, 256 runs ~1.3x as fast as 32
BATCH = 256

# IATA codes of large airlines, for flight numbers like "DL 1234" or "BA117"
AIRLINES = [
    "AA",
    "DL",
    "UA",
    "WN",
    "AS",
    "B6",
    "NK",
    "F9",
    "HA",
    "G4",
    "BA",
    "VS",
    "EI",
    "FR",
    "U2",
    "LH",
    "AF",
    "KL",
    "EK",
    "QR",
    "SQ",
    "CX",
    "QF",
    "AC",
    "WS",
    "AK",
    "MH",
    "TK",
    "IB",
    "AZ",
    "LX",
    "SK",
    "AY",
    "NH",
    "JL",
    "EY",
    "VY",
]
CURRENCY_SIGNS = ["$", "£", "€"]


def ruler_patterns(min_city_population: int) -> list[dict[str, Any]]:
    """Gazetteer places plus token patterns for order ids, flight numbers and amounts."""
    airline = "|".join(AIRLINES)
    patterns: list[dict[str, Any]] = [
        {"label": "LOCATION", "pattern": name} for name in place_names(min_city_population)
    ]
    patterns += [
        {"label": "ORDER_ID", "pattern": [{"ORTH": "#"}, {"TEXT": {"REGEX": r"^\d{6,}$"}}]},
        {"label": "ORDER_ID", "pattern": [{"TEXT": {"REGEX": r"^(?:[A-Z]{1,4}-?)?\d{7,}$"}}]},
        {
            "label": "ORDER_ID",
            "pattern": [
                {"TEXT": {"REGEX": r"^\d{3}$"}},
                {"ORTH": "-"},
                {"TEXT": {"REGEX": r"^\d{7}$"}},
                {"ORTH": "-"},
                {"TEXT": {"REGEX": r"^\d{7}$"}},
            ],
        },
        {"label": "FLIGHT", "pattern": [{"TEXT": {"REGEX": rf"^(?:{airline})\d{{2,4}}$"}}]},
        {
            "label": "FLIGHT",
            "pattern": [{"TEXT": {"IN": AIRLINES}}, {"TEXT": {"REGEX": r"^\d{2,4}$"}}],
        },
        {
            "label": "AMOUNT",
            "pattern": [
                {"TEXT": {"IN": CURRENCY_SIGNS}},
                {"TEXT": {"REGEX": r"^\d{1,3}(?:,\d{3})*(?:\.\d{2})?$|^\d+(?:\.\d{2})?$"}},
            ],
        },
    ]
    return patterns


@dataclass(frozen=True)
class NerShape:
    """The size of the NER's tok2vec (spaCy's HashEmbedCNN); the defaults are spaCy's own."""

    width: int = 96
    depth: int = 4
    embed_size: int = 2000
    maxout_pieces: int = 3

    def model_config(self) -> dict[str, Any]:
        """The ner pipe's `model` block: spaCy's default parser over a tok2vec of this size."""
        return {
            "@architectures": "spacy.TransitionBasedParser.v2",
            "state_type": "ner",
            "extra_state_tokens": False,
            "hidden_width": 64,
            "maxout_pieces": 2,
            "use_upper": True,
            "nO": None,
            "tok2vec": {
                "@architectures": "spacy.HashEmbedCNN.v2",
                "pretrained_vectors": None,
                "width": self.width,
                "depth": self.depth,
                "embed_size": self.embed_size,
                "window_size": 1,
                "maxout_pieces": self.maxout_pieces,
                "subword_features": True,
            },
        }


def build_pipeline(
    min_city_population: int, with_ner: bool = True, shape: NerShape = NerShape()
) -> Any:
    """A blank English pipeline: (untrained) NER, then the entity ruler that overrides it."""
    import spacy

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler", config={"overwrite_ents": True})
    ruler.add_patterns(ruler_patterns(min_city_population))
    if (
        with_ner
    ):  # added second (patterns are tokenised by the pipes before the ruler) but runs first
        ner = nlp.add_pipe("ner", before="entity_ruler", config={"model": shape.model_config()})
        for label in NER_LABELS:
            ner.add_label(label)
    return nlp


def train_ner(
    nlp: Any,
    texts: Sequence[str],
    spans: Sequence[list[dict[str, Any]]],
    epochs: int,
    dropout: float,
    seed: int,
) -> list[float]:
    """Train the pipeline's NER on gold character spans; returns the loss of each epoch."""
    from spacy.training import Example
    from spacy.util import compounding, fix_random_seed, minibatch

    fix_random_seed(seed)
    examples = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # spans that do not align to tokens become "missing"
        for text, gold in zip(texts, spans, strict=True):
            offsets = [(s["start"], s["end"], s["label"]) for s in gold if s["label"] in NER_LABELS]
            examples.append(Example.from_dict(nlp.make_doc(text), {"entities": offsets}))
    rng = random.Random(seed)
    losses_per_epoch = []
    # only the NER: initialising the ruler would clear its patterns
    with nlp.select_pipes(enable=["ner"]):
        optimizer = nlp.initialize(lambda: examples)
        for epoch in tqdm(range(epochs), desc="NER epochs", unit="epoch"):
            rng.shuffle(examples)
            losses: dict[str, float] = {}
            for batch in minibatch(examples, size=compounding(8.0, 64.0, 1.5)):
                nlp.update(batch, drop=dropout, sgd=optimizer, losses=losses)
            losses_per_epoch.append(float(losses.get("ner", 0.0)))
            del epoch
    return losses_per_epoch


def extract(nlp: Any, texts: Sequence[str]) -> list[list[dict[str, Any]]]:
    """Entities of each text: the pipeline's, with phones and emails from the PII rules on top."""
    out = []
    for text, doc in zip(texts, nlp.pipe(texts, batch_size=BATCH), strict=True):
        pii = find_pii(text)
        found = [
            {"start": s.start, "end": s.end, "label": s.label, "text": text[s.start : s.end]}
            for s in pii
        ]
        for ent in doc.ents:
            if not any(ent.start_char < p.end and p.start < ent.end_char for p in pii):
                found.append(
                    {
                        "start": ent.start_char,
                        "end": ent.end_char,
                        "label": ent.label_,
                        "text": ent.text,
                    }
                )
        out.append(sorted(found, key=lambda e: e["start"]))
    return out


class EntityModel(mlflow.pyfunc.PythonModel):
    """Text in; `entities`, a JSON list of {start, end, label, text} (unmasked), out."""

    def __init__(self) -> None:
        self.nlp: Any = None

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        import spacy

        self.nlp = spacy.load(context.artifacts[SPACY_ARTIFACT])

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        texts = texts_of(model_input)
        entities = extract(self.nlp, texts) if texts else []
        return pd.DataFrame({"entities": [json.dumps(e, ensure_ascii=False) for e in entities]})


def _artifacts(nlp: Any, tmp: Path) -> dict[str, str]:
    path = tmp / SPACY_ARTIFACT
    nlp.to_disk(path)
    return {SPACY_ARTIFACT: str(path)}


def log_entities(nlp: Any, name: str = "entities") -> mlflow.models.model.ModelInfo:
    with tempfile.TemporaryDirectory() as tmp:
        return log_pyfunc(
            EntityModel(),
            _artifacts(nlp, Path(tmp)),
            signature(OUTPUTS),
            analysis_requirements(),
            name=name,
        )


def save_entities(nlp: Any, path: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        save_pyfunc(
            EntityModel(),
            _artifacts(nlp, Path(tmp)),
            signature(OUTPUTS),
            analysis_requirements(),
            path,
        )
