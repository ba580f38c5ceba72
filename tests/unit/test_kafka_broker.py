"""The broker's generated config and its fixture helpers, without starting Kafka."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.kafka import free_ports
from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.kafka.broker import BrokerPaths, server_properties, start_broker


def _properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines())


def test_server_properties_describe_one_kraft_node_on_the_configured_ports(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, kafka_port=19092, kafka_controller_port=19093)
    props = _properties(server_properties(settings, BrokerPaths.of(settings).data_dir))
    assert props["process.roles"] == "broker,controller"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    assert props["auto.create.topics.enable"] == "false"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["group.initial.rebalance.delay.ms"] == "0"


def test_relative_state_dir_becomes_an_absolute_log_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings(state_dir=Path("state"))
    log_dir = Path(
        _properties(server_properties(settings, BrokerPaths.of(settings).data_dir))["log.dirs"]
    )
    assert log_dir.is_absolute()
    assert log_dir == tmp_path / "state" / "kafka" / "data"


def test_missing_jars_say_how_to_get_them(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path / "state", jars_dir=tmp_path / "no-jars")
    settings = settings.model_copy(update={"kafka_port": free_ports(1)[0]})
    with pytest.raises(UserError, match="make jars"):
        start_broker(settings)


def test_free_ports_are_distinct() -> None:
    ports = free_ports(3)
    assert len(set(ports)) == 3


def test_settings_env_recreates_the_same_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(state_dir=tmp_path, kafka_port=12345, topic_tweets="other-tweets")
    for name, value in settings.to_env().items():
        monkeypatch.setenv(name, value)
    again = Settings()
    assert again.kafka_bootstrap == "127.0.0.1:12345"
    assert again.topic_tweets == "other-tweets"
    assert again.state_dir == tmp_path
    assert again.jars_dir.is_absolute()
