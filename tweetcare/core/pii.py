"""Phone numbers and email addresses found and masked in tweet text.

Customers overshare contact details in public; tickets, drafted replies and the lake must never
keep them. Patterns, not a model: the formats are regular, and masking has to be predictable
(the model server, the stream and the ticket store all call this one function).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PHONE = "PHONE"
EMAIL = "EMAIL"
MASKS: dict[str, str] = {PHONE: "<phone>", EMAIL: "<email>"}

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# digit groups with an optional +country code and (area code); separators stay on one line.
# Neighbouring letters, digits or hyphens rule a match out, so order ids like 123-1234567-1234567,
# W123456789 or CAS-12345678 are never read as phone numbers.
_PHONE = re.compile(
    r"(?<![\w+-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?)?\d{2,5}(?:[ .-]?\d{2,5}){1,4}(?![\w-])"
)
# real numbers have 10-15 digits (E.164 allows 15); fewer is an amount, a time or an id
MIN_PHONE_DIGITS = 10
MAX_PHONE_DIGITS = 15


@dataclass(frozen=True)
class PiiSpan:
    start: int
    end: int
    label: str  # PHONE or EMAIL


def _is_phone(candidate: str) -> bool:
    digits = sum(c.isdigit() for c in candidate)
    return MIN_PHONE_DIGITS <= digits <= MAX_PHONE_DIGITS


def find_pii(text: str) -> list[PiiSpan]:
    """Every email and phone number in ``text``, in order, never overlapping."""
    spans = [PiiSpan(m.start(), m.end(), EMAIL) for m in _EMAIL.finditer(text)]
    taken = [(s.start, s.end) for s in spans]
    for match in _PHONE.finditer(text):
        overlaps = any(match.start() < end and start < match.end() for start, end in taken)
        if not overlaps and _is_phone(match.group()):
            spans.append(PiiSpan(match.start(), match.end(), PHONE))
    return sorted(spans, key=lambda s: s.start)


def mask_pii(text: str) -> str:
    """``text`` with each phone number and email replaced by ``<phone>`` / ``<email>``."""
    pieces: list[str] = []
    pos = 0
    for span in find_pii(text):
        pieces.append(text[pos : span.start])
        pieces.append(MASKS[span.label])
        pos = span.end
    pieces.append(text[pos:])
    return "".join(pieces)


def mask_value(label: str, value: str) -> str:
    """What an entity of ``label`` may show: PHONE and EMAIL values become their mask."""
    return MASKS.get(label, value)
