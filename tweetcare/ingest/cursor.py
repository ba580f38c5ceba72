"""Where each brand's mention timeline was read up to (X's `since_id`), kept on disk.

The file (JSON, brand user id -> newest tweet id) is replaced atomically, and a brand's entry
moves only once Kafka has acknowledged every tweet up to it: a broker outage, a crash or a
kill -9 leaves it where the last acknowledged poll ended, so the next poll asks X again for
everything after it.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from tweetcare.core import atomic
from tweetcare.core.errors import UserError


class MentionCursor:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._since = self._load()

    def _load(self) -> dict[str, str]:
        try:
            value = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (ValueError, OSError) as err:
            raise UserError(f"{self.path} is not a mentions cursor ({err})") from err
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v.isdigit() for k, v in value.items()
        ):
            raise UserError(f"{self.path} is not a mentions cursor (user id -> tweet id)")
        return value

    def since(self, user_id: str) -> str | None:
        with self._lock:
            return self._since.get(user_id)

    def advance(self, user_id: str, tweet_id: str) -> None:
        """Record `tweet_id` as read for `user_id` (never moving back), durably."""
        with self._lock:
            current = self._since.get(user_id)
            if current is not None and int(current) >= int(tweet_id):
                return
            self._since[user_id] = tweet_id
            atomic.write_text(self.path, json.dumps(self._since, indent=1, sort_keys=True))
