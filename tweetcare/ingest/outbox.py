"""Tweets written down before they are sent to Kafka, and deleted once Kafka acknowledged them.

A tweet from X exists nowhere else once read (the filtered stream does not replay), so it goes
into this SQLite file (committed, fsynced) before it is handed to the producer. A send that
fails, a broker outage longer than the producer's patience, or a kill -9 leaves it here, and
the next run (or the next round of this one) sends it again, oldest first. A tweet can so reach
`tweets` twice (acknowledged, then killed before the delete), never zero times; the stream
keys its work by tweet id.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tweetcare.core.errors import UserError

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tweet_id TEXT NOT NULL UNIQUE,
    key TEXT NOT NULL,
    value BLOB NOT NULL
)
"""


@dataclass(frozen=True)
class Entry:
    tweet_id: str
    key: str
    value: bytes


class Outbox:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # autocommit: each statement is its own durable transaction; callbacks of the
            # producer's I/O thread delete, so the connection is shared under a lock
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(SCHEMA)
        except sqlite3.DatabaseError as err:
            raise UserError(
                f"{path} is not an ingest outbox ({err}); it may hold unsent tweets: "
                "move it aside rather than delete it"
            ) from err

    def put(self, entry: Entry) -> None:
        """Keep `entry` until `remove` (a tweet already kept stays as it is, in its place)."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO outbox (tweet_id, key, value) VALUES (?, ?, ?)",
                (entry.tweet_id, entry.key, entry.value),
            )

    def remove(self, tweet_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE tweet_id = ?", (tweet_id,))

    def entries(self) -> list[Entry]:
        """Everything kept, oldest first (the order the tweets were read from X)."""
        with self._lock:
            rows = self._db.execute("SELECT tweet_id, key, value FROM outbox ORDER BY seq")
            return [Entry(str(i), str(k), bytes(v)) for i, k, v in rows.fetchall()]

    def holds_any(self, tweet_ids: Iterable[str]) -> bool:
        wanted = list(tweet_ids)
        with self._lock:
            return any(
                self._db.execute("SELECT 1 FROM outbox WHERE tweet_id = ?", (i,)).fetchone()
                for i in wanted
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
