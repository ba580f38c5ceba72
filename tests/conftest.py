"""Shared fixtures: each real service has its own fixture module under tests/fixtures."""

pytest_plugins = [
    "tests.fixtures.kafka",
    "tests.fixtures.bento",
    "tests.fixtures.console",
    "tests.fixtures.registry",
    "tests.fixtures.project",
]
