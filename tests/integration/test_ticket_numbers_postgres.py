"""Ticket numbers on a real PostgreSQL: the numbering suite (`test_ticket_numbers.py`, its
concurrent writers included) and the migrations' suite, pointed at a server of their own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_numbers_and_migrations_pass_on_postgres(postgres_tickets_url: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/unit/test_ticket_numbers.py",
            "tests/unit/test_ticket_migrations.py",
        ],
        check=False,
        env={**os.environ, "TWEETCARE_TEST_TICKETS_DB_URL": postgres_tickets_url},
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout
