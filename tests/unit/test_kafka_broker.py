"""The broker's and the local cluster's generated config, topic specs, client options and the
tail view, without starting Kafka."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.kafka import free_ports
from tweetcare.cluster import kafka as cluster_kafka
from tweetcare.cluster.layout import Layout, Ports
from tweetcare.cluster.topology import cluster_env, cluster_settings
from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.kafka.admin import reachable
from tweetcare.kafka.broker import BrokerPaths, server_properties, start_broker
from tweetcare.kafka.tail import TailRecord, _masked, one_line
from tweetcare.kafka.topics import describe_topics, short_retention, topic_spec


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


def test_topics_are_created_with_the_configured_replication_and_min_isr() -> None:
    settings = Settings(topic_partitions=6, topic_replication_factor=3, topic_min_insync_replicas=2)
    assert topic_spec(settings) == {
        "num_partitions": 6,
        "replication_factor": 3,
        "configs": {"min.insync.replicas": "2"},
    }


def test_each_stream_has_its_own_lake_rows_topic_that_takes_a_whole_dead_letter() -> None:
    settings = Settings(topic_tweets="shop-tweets", lake_rows_max_bytes=8 * 2**20)
    assert settings.lake_rows_topic == "shop-tweets-lake"
    assert settings.lake_rows_topic in settings.all_topics
    assert topic_spec(settings, settings.lake_rows_topic)["configs"] == {
        "min.insync.replicas": "1",
        "max.message.bytes": str(8 * 2**20),
        "retention.ms": str(7 * 24 * 3600 * 1000),
        "retention.bytes": "-1",
        "cleanup.policy": "delete",
    }
    assert "max.message.bytes" not in topic_spec(settings, settings.topic_tweets)["configs"]
    assert Settings(topic_lake_rows="archive").lake_rows_topic == "archive"


def test_the_topics_the_lake_is_made_from_keep_records_for_the_configured_time() -> None:
    settings = Settings(topic_tweets="shop", lake_topics_retention_ms=3_600_000)
    for name in ("shop", "shop-lake"):
        configs = topic_spec(settings, name)["configs"]
        assert (configs["retention.ms"], configs["cleanup.policy"]) == ("3600000", "delete")
    # the other topics keep the broker's own retention
    assert "retention.ms" not in topic_spec(settings, settings.topic_replies)["configs"]


def test_only_a_shorter_retention_or_a_compacting_policy_is_repaired() -> None:
    wanted = {"retention.ms": "1000", "retention.bytes": "-1", "cleanup.policy": "delete"}
    shorter = {"retention.ms": "10", "retention.bytes": "5000", "cleanup.policy": "compact"}
    assert short_retention(shorter, wanted) == wanted
    longer = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}
    assert short_retention(longer, wanted) == {}
    assert short_retention({"retention.ms": "2000", "cleanup.policy": "delete"}, wanted) == {}


def test_a_min_isr_above_the_replication_factor_is_refused() -> None:
    settings = Settings(topic_replication_factor=1, topic_min_insync_replicas=2)
    with pytest.raises(UserError, match="MIN_INSYNC_REPLICAS"):
        topic_spec(settings)


def test_kafka_clients_get_the_bootstrap_list_and_security_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWEETCARE_KAFKA_BOOTSTRAP_SERVERS", "k1:9093,k2:9093")
    monkeypatch.setenv(
        "TWEETCARE_KAFKA_CLIENT_CONFIG",
        '{"security_protocol": "SASL_SSL", "sasl_mechanism": "PLAIN", "sasl_plain_username": "u"}',
    )
    monkeypatch.setenv("TWEETCARE_KAFKA_SASL_PASSWORD", "s3cret")
    options = Settings().kafka_client_options()
    assert options["bootstrap_servers"] == ["k1:9093", "k2:9093"]
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_plain_password"] == "s3cret"


def test_nothing_listening_is_a_one_line_error_before_any_client_waits() -> None:
    (port,) = free_ports(1)
    settings = Settings(kafka_bootstrap_servers=f"127.0.0.1:{port},127.0.0.1:{port}")
    assert not reachable(settings)
    with pytest.raises(UserError, match="no Kafka broker answers"):
        describe_topics(settings)


def test_a_dead_letter_reads_as_reason_source_and_masked_value() -> None:
    record = TailRecord(
        topic="tweets-dlq",
        partition=0,
        offset=7,
        timestamp="2026-11-30T12:00:00.000+00:00",
        key=None,
        value=_masked(
            {
                "reason": "not JSON",
                "raw": "call me on +1 415 555 0100 or me@example.com",
                "raw_encoding": "utf-8",
                "topic": "tweets",
                "partition": 2,
                "offset": 41,
            }
        ),
    )
    line = one_line(record, dead_letters=True)
    assert "reason='not JSON'" in line
    assert "source=tweets[2]@41" in line
    assert "<phone>" in line and "<email>" in line
    assert "555" not in line and "example.com" not in line


def test_the_cluster_brokers_are_three_voters_with_replicated_internal_topics(
    tmp_path: Path,
) -> None:
    layout = Layout(tmp_path, Ports.allocate())
    props = _properties(cluster_kafka.server_properties(layout, 2))
    controllers = layout.ports.kafka_controllers
    assert props["node.id"] == "2"
    assert props["controller.quorum.voters"] == ",".join(
        f"{n}@127.0.0.1:{port}" for n, port in enumerate(controllers, start=1)
    )
    assert props["listeners"].startswith(f"PLAINTEXT://127.0.0.1:{layout.ports.kafka[1]},")
    assert props["offsets.topic.replication.factor"] == "3"
    assert props["min.insync.replicas"] == "2"
    assert props["log.dirs"] == str(tmp_path / "kafka-2" / "data")


def test_cluster_settings_move_every_external_system(tmp_path: Path) -> None:
    layout = Layout(tmp_path, Ports.allocate())
    settings = cluster_settings(layout, Settings(jars_dir=tmp_path / "jars"))
    assert settings.kafka_bootstrap == layout.kafka_bootstrap
    assert len(settings.kafka_client_options()["bootstrap_servers"]) == 3
    assert (settings.topic_replication_factor, settings.topic_min_insync_replicas) == (3, 2)
    assert settings.spark_master.startswith("spark://127.0.0.1:")
    assert settings.lake_location.startswith("s3a://")
    assert settings.checkpoint_location.startswith("s3a://")
    assert settings.tickets_db_url.startswith("postgresql+psycopg://")
    assert settings.mlflow_tracking_uri == layout.mlflow_url
    assert settings.spark_conf["spark.hadoop.fs.s3a.endpoint"] == layout.s3_endpoint
    env = cluster_env(layout, settings)
    assert env["MLFLOW_TRACKING_URI"] == layout.mlflow_url
    assert env["TWEETCARE_KAFKA_BOOTSTRAP_SERVERS"] == layout.kafka_bootstrap


def test_the_standard_mlflow_variable_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWEETCARE_MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.internal:5000")
    assert Settings().mlflow_tracking_uri == "http://mlflow.internal:5000"
    monkeypatch.setenv("TWEETCARE_MLFLOW_TRACKING_URI", "sqlite:///own.db")
    assert Settings().mlflow_tracking_uri == "sqlite:///own.db"
