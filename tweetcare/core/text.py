"""Tweet cleaning shared by training and serving, so the served model never skews.

Handles are masked by default: in twcs customers are numeric ids and brands are named, so an
unmasked ``@123`` versus ``@Brand`` gives the inbound/outbound answer away (the seed project
masked them too, and training reports both figures).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

URL_TOKEN = "<url>"
USER_TOKEN = "<user>"
BRAND_TOKEN = "<brand>"

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_CUSTOMER_HANDLE = re.compile(r"@\d+\b")
_BRAND_HANDLE = re.compile(r"@\w+")
_SPACES = re.compile(r"\s+")


def clean_text(text: str, mask_handles: bool = True) -> str:
    """Normalise one tweet: decode HTML entities, mask links and (optionally) handles."""
    text = html.unescape(text)
    text = _URL.sub(f" {URL_TOKEN} ", text)
    if mask_handles:
        text = _CUSTOMER_HANDLE.sub(f" {USER_TOKEN} ", text)
        text = _BRAND_HANDLE.sub(f" {BRAND_TOKEN} ", text)
    return _SPACES.sub(" ", text).strip().lower()


def clean_texts(texts: Iterable[str], mask_handles: bool = True) -> list[str]:
    return [clean_text(t, mask_handles=mask_handles) for t in texts]
