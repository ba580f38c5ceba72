"""`python -m tweetcare.tickets.migrations revision "message"` | `upgrade URL`."""

from __future__ import annotations

import sys

from tweetcare.tickets.migrations import make_revision, upgrade_schema

USAGE = 'usage: python -m tweetcare.tickets.migrations revision "message" | upgrade URL'

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("revision", "upgrade"):
        sys.exit(USAGE)
    if sys.argv[1] == "revision":
        make_revision(sys.argv[2])
    else:
        upgrade_schema(sys.argv[2])
