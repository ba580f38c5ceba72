"""A single-node Apache Kafka broker (KRaft, combined broker+controller) run from local jars.

The project needs a real broker for the demo and the integration tests but no Docker or
downloads at run time: `make jars` resolves Kafka's classpath once, and this module writes the
broker's config, formats its storage the first time and runs it as a pid-file managed service.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from kafka.errors import KafkaError

from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.kafka.admin import admin_client, user_topics
from tweetcare.process import Service, ServiceError, port_open

SERVICE_NAME = "kafka"
NODE_ID = 1
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
FORMAT_TIMEOUT_S = 120.0
BROKER_MAIN = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
# the one jar every Kafka server classpath has; its absence means `make jars` never ran
BROKER_JAR_GLOB = "kafka_2.13-*.jar"

# One node: every internal topic must live with a single replica; topics are created on
# purpose (ensure_topics) so typos fail instead of creating a stray topic; consumer groups
# join without the 3 s rebalance wait that only helps big groups.
BROKER_PROPERTIES: dict[str, str] = {
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "5",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "transaction.state.log.num.partitions": "5",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "group.initial.rebalance.delay.ms": "0",
    "auto.create.topics.enable": "false",
    "num.partitions": "1",
}

# Kafka logs every request and state change at INFO; keep startup/shutdown, warn on the rest.
LOG4J2_PROPERTIES = """\
status = warn
name = tweetcare-kafka

appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n

rootLogger.level = WARN
rootLogger.appenderRef.stdout.ref = STDOUT

logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
logger.kafka.name = kafka.Kafka
logger.kafka.level = INFO
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = WARN
"""


@dataclass(frozen=True)
class BrokerStatus:
    """`running`: its process lives; `ready`: it also answers clients (the broker is up)."""

    running: bool
    pid: int | None
    bootstrap: str
    topics: list[str] = field(default_factory=list)
    ready: bool = False


@dataclass(frozen=True)
class BrokerPaths:
    """Where one broker keeps its generated config and data (absolute paths)."""

    root: Path

    @classmethod
    def of(cls, settings: Settings) -> BrokerPaths:
        return cls(settings.state_dir.resolve() / "kafka")

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def server_properties(self) -> Path:
        return self.root / "server.properties"

    @property
    def log4j2_properties(self) -> Path:
        return self.root / "log4j2.properties"

    @property
    def storage_record(self) -> Path:
        """Which cluster id and controller port the storage was formatted with."""
        return self.root / "storage.json"


def service(settings: Settings) -> Service:
    return Service(SERVICE_NAME, settings.state_dir.resolve())


def start_broker(settings: Settings) -> None:
    """Start the broker unless it already runs, and wait until clients can use it."""
    svc = service(settings)
    if svc.is_running():
        svc.wait_until(lambda: broker_ready(settings), READY_TIMEOUT_S, "answering")
        return
    if port_open(settings.kafka_host, settings.kafka_port):
        raise UserError(
            f"port {settings.kafka_bootstrap} is taken by a process tweetcare did not start; "
            "stop it or set TWEETCARE_KAFKA_PORT to a free port"
        )
    jars = classpath(settings)
    paths = BrokerPaths.of(settings)
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    paths.server_properties.write_text(server_properties(settings, paths.data_dir))
    paths.log4j2_properties.write_text(LOG4J2_PROPERTIES)
    _format_storage_once(settings, paths, jars)
    svc.start(
        [*java_command(settings, jars, paths), BROKER_MAIN, str(paths.server_properties)],
        cwd=paths.root,
    )
    svc.wait_until(lambda: broker_ready(settings), READY_TIMEOUT_S, "answering")


def stop_broker(settings: Settings) -> bool:
    """Stop the broker (controlled shutdown on SIGTERM); False when it was not running."""
    return service(settings).stop(timeout=STOP_TIMEOUT_S)


def broker_status(settings: Settings) -> BrokerStatus:
    pid = service(settings).pid()
    ready = pid is not None and broker_ready(settings)
    return BrokerStatus(
        running=pid is not None,
        pid=pid,
        bootstrap=settings.kafka_bootstrap,
        topics=user_topics(settings) if ready else [],
        ready=ready,
    )


def broker_ready(settings: Settings) -> bool:
    """The port answers and a client can fetch cluster metadata (a broker is registered)."""
    if not port_open(settings.kafka_host, settings.kafka_port):
        return False
    try:
        with admin_client(settings, timeout_ms=5_000) as client:
            return bool(client.describe_cluster().get("brokers"))
    except (KafkaError, OSError, UserError):
        return False


def server_properties(settings: Settings, data_dir: Path) -> str:
    """The broker's server.properties: one KRaft node on loopback storing data in `data_dir`."""
    host, port, cport = settings.kafka_host, settings.kafka_port, settings.kafka_controller_port
    props = {
        "process.roles": "broker,controller",
        "node.id": str(NODE_ID),
        "controller.quorum.bootstrap.servers": f"{host}:{cport}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{cport}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data_dir.resolve()),
        **BROKER_PROPERTIES,
    }
    return "".join(f"{key}={value}\n" for key, value in props.items())


def classpath(settings: Settings) -> str:
    jars = settings.jars_dir.resolve() / "kafka"
    if not any(jars.glob(BROKER_JAR_GLOB)):
        raise UserError(f"no Kafka jars in {jars}; run `make jars` first")
    if shutil.which("java") is None:
        raise UserError("`java` is not on PATH; Kafka 4 needs Java 17 or newer")
    return str(jars / "*")


def java_command(settings: Settings, classpath: str, paths: BrokerPaths) -> list[str]:
    return [
        "java",
        f"-Xmx{settings.kafka_heap}",
        f"-Xms{settings.kafka_heap}",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={paths.log4j2_properties}",
        "-cp",
        classpath,
    ]


def _format_storage_once(settings: Settings, paths: BrokerPaths, classpath: str) -> None:
    """Format the KRaft storage on first start; later starts reuse it (and its topics)."""
    if (paths.data_dir / "meta.properties").exists():
        recorded = json.loads(paths.storage_record.read_text())
        if recorded["controller_port"] != settings.kafka_controller_port:
            raise UserError(
                f"the broker storage in {paths.data_dir} was formatted for controller port "
                f"{recorded['controller_port']}; set TWEETCARE_KAFKA_CONTROLLER_PORT to it, "
                f"or delete {paths.root} to start an empty broker"
            )
        return
    java = java_command(settings, classpath, paths)
    cluster_id = run_tool([*java, STORAGE_TOOL, "random-uuid"]).strip().splitlines()[-1]
    run_tool(
        [
            *java,
            STORAGE_TOOL,
            "format",
            "-t",
            cluster_id,
            "-c",
            str(paths.server_properties),
            "--standalone",
        ]
    )
    paths.storage_record.write_text(
        json.dumps({"cluster_id": cluster_id, "controller_port": settings.kafka_controller_port})
    )


def run_tool(command: list[str]) -> str:
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=FORMAT_TIMEOUT_S, check=False
    )
    if result.returncode != 0:
        raise ServiceError(
            f"{' '.join(command[-3:])} failed ({result.returncode}):\n"
            f"{result.stderr.strip() or result.stdout.strip()}"
        )
    return result.stdout
