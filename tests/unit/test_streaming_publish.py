"""The Kafka publisher waits out a broker that is down (bounded), then says so."""

from __future__ import annotations

import logging

import pytest
from kafka.errors import KafkaTimeoutError

from streaming.publish import KafkaPublisher
from tests.fixtures.kafka import free_ports


def test_a_broker_that_stays_down_is_waited_for_then_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    (port,) = free_ports(1)  # nothing listens
    with (
        caplog.at_level(logging.WARNING, logger="tweetcare.backoff"),
        pytest.raises(KafkaTimeoutError),
    ):
        KafkaPublisher(f"127.0.0.1:{port}", wait_s=1.0, bootstrap_timeout_ms=500)
    waits = [r.getMessage() for r in caplog.records if "unavailable" in r.getMessage()]
    assert waits and "attempt 1, waiting 0.5s" in waits[0]
    assert any("giving up" in r.getMessage() for r in caplog.records)
