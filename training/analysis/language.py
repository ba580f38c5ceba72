"""Is a tweet English? langdetect, seeded, with a guard for texts too short to judge.

langdetect guesses wildly on a handful of words ("ugh mondays" reads as Somali), so a tweet with
fewer letters than the guard, once handles, links, hashtags and emojis are gone, counts as English;
so does one with two or more English function words (ALL-CAPS rants and "still broken after
restart" fool it too).
"""

from __future__ import annotations

import re

ENGLISH = "en"
_NOISE = re.compile(r"https?://\S+|www\.\S+|[@#]\w+|&\w+;")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_WORD = re.compile(r"[a-z']+")
ENGLISH_FUNCTION_WORDS = frozenset(
    [
        "the",
        "to",
        "my",
        "i",
        "you",
        "your",
        "and",
        "is",
        "it",
        "for",
        "in",
        "on",
        "of",
        "this",
        "that",
        "was",
        "with",
        "we",
        "our",
        "at",
        "be",
        "have",
        "has",
        "can",
        "why",
        "what",
        "when",
        "how",
        "do",
        "does",
        "did",
        "not",
        "are",
        "from",
        "after",
        "again",
        "been",
        "just",
    ]
)
MIN_FUNCTION_WORDS = 2


def letters_only(text: str) -> str:
    return _NOISE.sub(" ", text)


def detect_language(text: str, min_letters: int, min_probability: float) -> str:
    """An ISO 639-1 code; "en" unless langdetect is sure enough about a long enough text."""
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0  # langdetect is random without it
    body = letters_only(text).lower()
    if len(_LETTER.findall(body)) < min_letters:
        return ENGLISH
    if sum(w in ENGLISH_FUNCTION_WORDS for w in _WORD.findall(body)) >= MIN_FUNCTION_WORDS:
        return ENGLISH
    try:
        best = detect_langs(body)[0]
    except LangDetectException:
        return ENGLISH
    return best.lang if best.prob >= min_probability else ENGLISH
