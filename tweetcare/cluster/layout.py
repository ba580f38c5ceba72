"""Where the local cluster keeps its state and which loopback ports it took, kept in a JSON file
so that `cluster status` and `cluster down` (from another shell) find what `cluster up` made."""

from __future__ import annotations

import json
import socket
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path

from tweetcare.core.errors import UserError

HOST = "127.0.0.1"
LAYOUT_FILE = "cluster.json"
KAFKA_BROKERS = 3
SPARK_WORKERS = 2
LAKE_BUCKET = "tweetcare-lake"
MLFLOW_BUCKET = "tweetcare-mlflow"
DVC_BUCKET = "tweetcare-dvc"
# moto accepts any key pair; these name the local server's "account"
S3_ACCESS_KEY = "tweetcare"
S3_SECRET_KEY = "tweetcare-local-secret"
TICKETS_DB = "tickets"
MLFLOW_DB = "mlflow"
PG_USER = "postgres"


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports the OS says are free now (bound at once, then released)."""
    with ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in socks]


@dataclass(frozen=True)
class Ports:
    kafka: list[int]
    kafka_controllers: list[int]
    spark_master: int
    spark_master_ui: int
    spark_worker_uis: list[int]
    s3: int
    postgres: int
    mlflow: int

    @classmethod
    def allocate(cls) -> Ports:
        n = 2 * KAFKA_BROKERS + 2 + SPARK_WORKERS + 3
        ports = iter(free_ports(n))
        return cls(
            kafka=[next(ports) for _ in range(KAFKA_BROKERS)],
            kafka_controllers=[next(ports) for _ in range(KAFKA_BROKERS)],
            spark_master=next(ports),
            spark_master_ui=next(ports),
            spark_worker_uis=[next(ports) for _ in range(SPARK_WORKERS)],
            s3=next(ports),
            postgres=next(ports),
            mlflow=next(ports),
        )


@dataclass(frozen=True)
class Layout:
    """One local cluster: its root folder (absolute) and ports."""

    root: Path
    ports: Ports

    @property
    def file(self) -> Path:
        return self.root / LAYOUT_FILE

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def save(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.file.write_text(json.dumps(asdict(self.ports), indent=2))

    @classmethod
    def create(cls, root: Path) -> Layout:
        """The saved layout under `root` when there is one (restart on the same ports and
        storage), else new free ports."""
        existing = cls.load(root)
        if existing is not None:
            return existing
        layout = cls(root.resolve(), Ports.allocate())
        layout.save()
        return layout

    @classmethod
    def load(cls, root: Path) -> Layout | None:
        try:
            raw = json.loads((root / LAYOUT_FILE).read_text())
        except FileNotFoundError:
            return None
        except ValueError as err:
            raise UserError(f"{root / LAYOUT_FILE} is unreadable ({err}); delete {root}") from err
        return cls(root.resolve(), Ports(**raw))

    # the addresses clients use
    @property
    def kafka_bootstrap(self) -> str:
        return ",".join(f"{HOST}:{port}" for port in self.ports.kafka)

    @property
    def spark_master_url(self) -> str:
        return f"spark://{HOST}:{self.ports.spark_master}"

    @property
    def s3_endpoint(self) -> str:
        return f"http://{HOST}:{self.ports.s3}"

    def postgres_url(self, database: str) -> str:
        return f"postgresql+psycopg://{PG_USER}@{HOST}:{self.ports.postgres}/{database}"

    @property
    def mlflow_url(self) -> str:
        return f"http://{HOST}:{self.ports.mlflow}"
