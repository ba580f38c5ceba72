"""Three Kafka brokers in KRaft mode, each a combined broker+controller and one of three voters,
from the jars `make jars` resolved; internal and default topics at replication factor 3 and
min.insync.replicas 2, so one broker can be lost without losing an acknowledged write."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kafka.errors import KafkaError

from tweetcare.cluster.layout import HOST, KAFKA_BROKERS, Layout
from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.kafka.admin import admin_client
from tweetcare.kafka.broker import (
    BROKER_MAIN,
    LOG4J2_PROPERTIES,
    STORAGE_TOOL,
    BrokerPaths,
    classpath,
    java_command,
    run_tool,
)
from tweetcare.process import Service, ServiceError

HEAP = "384m"
READY_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 60.0
REPLICATION_FACTOR = 3
MIN_INSYNC_REPLICAS = 2

CLUSTER_PROPERTIES: dict[str, str] = {
    "offsets.topic.replication.factor": str(REPLICATION_FACTOR),
    "offsets.topic.num.partitions": "5",
    "transaction.state.log.replication.factor": str(REPLICATION_FACTOR),
    "transaction.state.log.min.isr": str(MIN_INSYNC_REPLICAS),
    "transaction.state.log.num.partitions": "5",
    "share.coordinator.state.topic.replication.factor": str(REPLICATION_FACTOR),
    "share.coordinator.state.topic.min.isr": str(MIN_INSYNC_REPLICAS),
    "default.replication.factor": str(REPLICATION_FACTOR),
    "min.insync.replicas": str(MIN_INSYNC_REPLICAS),
    "group.initial.rebalance.delay.ms": "0",
    "auto.create.topics.enable": "false",
    "num.partitions": "3",
}


def nodes() -> range:
    return range(1, KAFKA_BROKERS + 1)


def paths(layout: Layout, node: int) -> BrokerPaths:
    return BrokerPaths(layout.root / f"kafka-{node}")


def service(layout: Layout, node: int) -> Service:
    return Service(f"kafka-{node}", layout.root)


def client_settings(layout: Layout) -> Settings:
    return Settings(kafka_bootstrap_servers=layout.kafka_bootstrap)


def server_properties(layout: Layout, node: int) -> str:
    """One node of the three: its own listener and controller ports, the three static voters."""
    port = layout.ports.kafka[node - 1]
    cport = layout.ports.kafka_controllers[node - 1]
    voters = ",".join(f"{n}@{HOST}:{layout.ports.kafka_controllers[n - 1]}" for n in nodes())
    props = {
        "process.roles": "broker,controller",
        "node.id": str(node),
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{cport}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(paths(layout, node).data_dir),
        **CLUSTER_PROPERTIES,
    }
    return "".join(f"{key}={value}\n" for key, value in props.items())


def start(layout: Layout, jars_dir: Path) -> None:
    """Start every broker that is not running and wait until all three are registered."""
    for node in nodes():
        start_node(layout, node, jars_dir, wait=False)
    wait_ready(layout)


def start_node(layout: Layout, node: int, jars_dir: Path, wait: bool = True) -> None:
    """Start one broker (formatting its storage the first time) unless it runs."""
    svc = service(layout, node)
    if not svc.is_running():
        settings = Settings(jars_dir=jars_dir, kafka_heap=HEAP)
        jars = classpath(settings)
        where = paths(layout, node)
        where.data_dir.mkdir(parents=True, exist_ok=True)
        where.server_properties.write_text(server_properties(layout, node))
        where.log4j2_properties.write_text(LOG4J2_PROPERTIES)
        java = java_command(settings, jars, where)
        if not (where.data_dir / "meta.properties").exists():
            command = [*java, STORAGE_TOOL, "format", "-t", cluster_id(layout, java)]
            run_tool([*command, "-c", str(where.server_properties)])
        svc.start([*java, BROKER_MAIN, str(where.server_properties)], cwd=where.root)
    if wait:
        wait_ready(layout)


def stop(layout: Layout) -> list[int]:
    """Stop every broker (controlled shutdown) at once; the nodes that were running. One after
    the other, the last broker would wait out its timeout for a quorum that is already gone."""
    with ThreadPoolExecutor(max_workers=KAFKA_BROKERS) as pool:
        stopped = list(pool.map(lambda node: stop_node(layout, node), nodes()))
    return [node for node, was in zip(nodes(), stopped, strict=True) if was]


def stop_node(layout: Layout, node: int, kill: bool = False) -> bool:
    """Stop one broker; `kill` is a crash (SIGKILL, no controlled shutdown). False when it was
    not running."""
    svc = service(layout, node)
    pid = svc.pid()
    if pid is None:
        return False
    if not kill:
        return svc.stop(timeout=STOP_TIMEOUT_S)
    os.killpg(pid, signal.SIGKILL)
    while svc.is_running():
        time.sleep(0.1)
    return True


def registered_brokers(layout: Layout) -> list[int]:
    """Ids of the live (unfenced) brokers the cluster's metadata lists now."""
    try:
        with admin_client(client_settings(layout), timeout_ms=5_000) as client:
            brokers = client.describe_cluster().get("brokers", [])
        return sorted(b["broker_id"] for b in brokers if not b.get("is_fenced"))
    except (KafkaError, OSError, UserError):
        return []


def wait_ready(layout: Layout) -> None:
    """Until all three brokers are registered; a broker that exits meanwhile fails at once."""
    want = list(nodes())
    deadline = time.monotonic() + READY_TIMEOUT_S
    while registered_brokers(layout) != want:
        for node in nodes():
            svc = service(layout, node)
            if not svc.is_running():
                raise ServiceError(f"kafka-{node} is not running; its log:\n{svc.log_tail()}")
        if time.monotonic() > deadline:
            raise ServiceError(
                f"the brokers did not form a 3-node cluster in {READY_TIMEOUT_S:.0f}s; "
                f"logs in {layout.root / 'logs'}"
            )
        time.sleep(1.0)


def running_nodes(layout: Layout) -> list[int]:
    return [node for node in nodes() if service(layout, node).is_running()]


def cluster_id(layout: Layout, java: list[str]) -> str:
    """One id for the three storages, made once and kept beside them."""
    record = layout.root / "kafka-cluster-id"
    if not record.exists():
        record.write_text(run_tool([*java, STORAGE_TOOL, "random-uuid"]).strip().splitlines()[-1])
    return record.read_text().strip()
