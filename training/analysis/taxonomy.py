"""The complaint taxonomy (`config/taxonomy.yaml`) and the keyword rule built from it.

The keyword rule is the honest baseline the trained category model must beat, on generated data
and above all on real tweets, where templates no longer help.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel

from tweetcare.core.errors import UserError
from tweetcare.core.schemas import CATEGORIES

DEFAULT_TAXONOMY = Path("config/taxonomy.yaml")
_WORD = re.compile(r"[a-z0-9']+")


class CategorySpec(BaseModel):
    description: str
    keywords: list[str]


class Taxonomy(BaseModel):
    fallback: str
    categories: dict[str, CategorySpec]


def load_taxonomy(path: Path = DEFAULT_TAXONOMY) -> Taxonomy:
    """The taxonomy file, checked against the categories every other component knows."""
    if not path.is_file():
        raise UserError(f"taxonomy file not found: {path}")
    taxonomy = Taxonomy.model_validate(yaml.safe_load(path.read_text()))
    if tuple(taxonomy.categories) != CATEGORIES:
        raise UserError(
            f"{path} lists categories {list(taxonomy.categories)}; expected {list(CATEGORIES)}"
        )
    if taxonomy.fallback not in taxonomy.categories:
        raise UserError(f"{path}: fallback {taxonomy.fallback!r} is not a category")
    return taxonomy


@dataclass(frozen=True)
class KeywordRule:
    """Most keyword hits wins; ties go to the earlier category; no hit means the fallback."""

    keywords: dict[str, frozenset[str]]
    fallback: str

    @classmethod
    def from_taxonomy(cls, taxonomy: Taxonomy) -> KeywordRule:
        return cls(
            {
                name: frozenset(k.lower() for k in spec.keywords)
                for name, spec in taxonomy.categories.items()
            },
            taxonomy.fallback,
        )

    def predict_one(self, text: str) -> str:
        words = _WORD.findall(text.lower())
        best, best_hits = self.fallback, 0
        for name, keywords in self.keywords.items():
            hits = sum(word in keywords for word in words)
            if hits > best_hits:
                best, best_hits = name, hits
        return best

    def predict(self, texts: list[str]) -> list[str]:
        return [self.predict_one(t) for t in texts]
