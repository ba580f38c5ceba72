"""Tweet ids already published, in bounded memory: the newest `capacity` ids, oldest forgotten.

X redelivers tweets after a reconnect and a tweet can match both the filtered stream and a
mention poll; ids seen in the last `capacity` tweets are not published again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

DEFAULT_CAPACITY = 100_000


class SeenIds:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, tweet_id: str) -> bool:
        """True when the id is new (and is now remembered), False for a repeat."""
        with self._lock:
            if tweet_id in self._ids:
                self._ids.move_to_end(tweet_id)
                return False
            self._ids[tweet_id] = None
            if len(self._ids) > self.capacity:
                self._ids.popitem(last=False)
            return True

    def forget(self, tweet_id: str) -> None:
        """Undo `add` (its send failed), so a redelivery can still publish it."""
        with self._lock:
            self._ids.pop(tweet_id, None)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, tweet_id: object) -> bool:
        return tweet_id in self._ids
