"""Request checks for /classify, kept apart from BentoML so they are unit-testable."""

from __future__ import annotations

from collections.abc import Sequence


def classify_input_problem(texts: Sequence[str], max_texts: int, max_chars: int) -> str | None:
    """A clear message saying what is wrong with a /classify body, or None when it is fine."""
    if len(texts) == 0:
        return 'texts is empty: send {"texts": ["a tweet", ...]} with at least one text'
    if len(texts) > max_texts:
        return f"too many texts: {len(texts)} > {max_texts} per request; split the list"
    for i, text in enumerate(texts):
        if not text.strip():
            return f"texts[{i}] is empty or blank; every text must have content"
        if len(text) > max_chars:
            return f"texts[{i}] has {len(text)} characters > {max_chars} allowed"
    return None


def chunks(items: Sequence[str], size: int) -> list[list[str]]:
    """Split a request into pieces no larger than the model's batch size."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]
