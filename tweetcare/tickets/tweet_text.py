"""What X accepts as a reply's text, checked before an agent's edit is saved.

X counts a tweet in Unicode code points after NFC normalisation, up to 280. Its own library
weights some characters double and every link as 23; the Python port of it on PyPI
(twitter-text-parser) imports `pkg_resources`, which setuptools no longer ships, so the
code-point count is used: it agrees with X's for the Latin text of the reply templates.
"""

from __future__ import annotations

import re
import unicodedata

from tweetcare.core.errors import UsageError

# X's limit on a tweet's length
TWEET_MAX_CHARS = 280
# control characters other than a line break or a tab: X shows none of them, and Postgres cannot
# store a NUL, so a reply holding one is refused the same way on either store
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def tweet_length(text: str) -> int:
    return len(unicodedata.normalize("NFC", text))


def checked_reply_text(text: str) -> str:
    """The text an agent typed, trimmed; a clear error if X would refuse it for its length or
    it holds a control character."""
    text = text.strip()
    if not text:
        raise UsageError("a reply cannot be empty")
    control = _CONTROL.search(text)
    if control is not None:
        raise UsageError(
            f"the reply holds a control character (U+{ord(control.group()):04X}) at position "
            f"{control.start() + 1}: remove it"
        )
    length = tweet_length(text)
    if length > TWEET_MAX_CHARS:
        raise UsageError(
            f"the reply has {length} characters; X takes at most {TWEET_MAX_CHARS}: "
            f"shorten it by {length - TWEET_MAX_CHARS}"
        )
    return text
