"""Secrets masked in everything shown or logged: URLs, Spark conf, command lines, error text.

Agents read the console, operators read logs and `tweetcare stream status`, and whatever is
printed ends up pasted into tickets and chats: none of them needs a database password or an S3
secret. One helper, so the sidebar, the CLI, the supervisor and the error messages mask alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

MASK = "***"
# names whose values are secrets: Spark's default `spark.redaction.regex` (secret, password,
# token, access key), plus the JAAS line that carries a Kafka SASL password and signed URLs
_SECRET_WORDS = r"secret|passw(?:or)?d|token|access[._-]?key|jaas|signature|credential"
_SECRET_NAME = re.compile(_SECRET_WORDS, re.IGNORECASE)
# `name=value` where the name holds one of the words: conf lines, query strings, DSNs, JAAS
_SECRET_PAIR = re.compile(
    rf"(?P<name>[\w.-]*(?:{_SECRET_WORDS})[\w.-]*)=(?P<value>\"[^\"]*\"|'[^']*'|[^\s&;,]+)",
    re.IGNORECASE,
)
# a URL inside free text (an error message, a log line)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`()\[\]{}]+")


def is_secret_name(name: str) -> bool:
    """Whether a conf key, option or query parameter called `name` holds a secret."""
    return _SECRET_NAME.search(name) is not None


def redact_url(url: str) -> str:
    """`url` as it may be shown: the password of `user:password@` and the values of secret
    query parameters (`?password=`, `?token=`) become `***`; everything else stays as it is."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # e.g. a malformed port or IPv6 host: nothing of it is trusted
        return MASK
    if password is not None:
        userinfo, _, host = parts.netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        url = url.replace(parts.netloc, f"{user}:{MASK}@{host}", 1)
    return _SECRET_PAIR.sub(_masked_pair, url)


def redact(text: str) -> str:
    """Free text (an error message, a log line) with every URL's password and every
    `secret-name=value` masked."""
    return _SECRET_PAIR.sub(_masked_pair, _URL.sub(lambda m: redact_url(m.group()), text))


def redact_conf(conf: Mapping[str, str]) -> dict[str, str]:
    """Conf (Spark, Kafka) as it may be logged: secret keys' values masked, URLs redacted."""
    return {key: MASK if is_secret_name(key) else redact(str(v)) for key, v in conf.items()}


def redact_command(argv: Sequence[str]) -> list[str]:
    """A command line as it may be logged or saved: `--conf key=secret`, `--password X` and
    URLs with passwords masked."""
    shown: list[str] = []
    for arg in argv:
        previous = shown[-1] if shown else ""
        flag_of_secret = previous.startswith("-") and "=" not in previous
        shown.append(MASK if flag_of_secret and is_secret_name(previous) else redact(arg))
    return shown


def _masked_pair(match: re.Match[str]) -> str:
    return f"{match.group('name')}={MASK}"
