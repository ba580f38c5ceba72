"""Shared fixtures: each real service has its own fixture module under tests/fixtures."""

import pytest

pytest_plugins = [
    "tests.fixtures.kafka",
    "tests.fixtures.bento",
    "tests.fixtures.console",
    "tests.fixtures.registry",
    "tests.fixtures.project",
    "tests.fixtures.postgres",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--tracking-uri",
        default=None,
        help="MLflow registry whose @champion models tests/model checks "
        "[default: the session's `dvc repro` of the project on tiny params]",
    )
