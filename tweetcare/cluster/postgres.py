"""PostgreSQL for tickets and MLflow's backend store: a private cluster made with `initdb` and run
with `pg_ctl` in the cluster folder, on a loopback port. As root, the server runs as the
unprivileged `postgres` user (PostgreSQL refuses to run as root), which cannot reach a project
closed to other users (`mktemp -d`, /root): its files then live in a folder of its own under
/var/tmp, named after the cluster folder."""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import subprocess
from pathlib import Path

import psycopg

from tweetcare.cluster.layout import HOST, MLFLOW_DB, PG_USER, TICKETS_DB, Layout
from tweetcare.core.errors import UserError
from tweetcare.process import ServiceError

# the system account Debian's package creates; used only when we run as root
SERVER_ACCOUNT = "postgres"
START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 60
# a throw-away local cluster: skip fsync (the data lives as long as the demo or the tests)
SERVER_OPTIONS = "-c fsync=off -c full_page_writes=off -c max_connections=100"
# as root: where the server account keeps each cluster's files (open to every user, sticky),
# in SERVER_PREFIX + a digest of the cluster folder, so two projects never share one
SERVER_BASE = Path("/var/tmp")
SERVER_PREFIX = "tweetcare-postgres-"
DIGEST_CHARS = 16


def bin_dir() -> Path:
    """The folder with initdb and pg_ctl (on PATH, or Debian's /usr/lib/postgresql/N/bin)."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version)
    if not candidates:
        raise UserError("PostgreSQL is not installed: run `make postgres` (Debian's postgresql)")
    return Path(candidates[-1]).parent


def server_home(root: Path) -> Path:
    """The server's folder (data, socket, log) for the cluster in `root`: inside it, or as root
    one the server account owns under SERVER_BASE, derived from the cluster folder's path."""
    if os.geteuid() != 0:
        return root / "postgres"
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:DIGEST_CHARS]
    return SERVER_BASE / f"{SERVER_PREFIX}{digest}"


def home(layout: Layout) -> Path:
    return server_home(layout.root)


def delete(root: Path) -> None:
    """Remove the server's files for the cluster in `root` (it must be stopped)."""
    folder = server_home(root)
    if folder.is_symlink():
        folder.unlink()
    else:
        shutil.rmtree(folder, ignore_errors=True)


def data_dir(layout: Layout) -> Path:
    return home(layout) / "data"


def start(layout: Layout) -> None:
    """initdb on first use, then pg_ctl start (waits until it accepts connections), then the
    tickets and mlflow databases."""
    if running(layout):
        return
    folder = home(layout)
    _make_home(folder)
    _hand_over(folder)
    bindir = bin_dir()
    if not (data_dir(layout) / "PG_VERSION").exists():
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data_dir(layout)),
                "-U",
                PG_USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
            "initdb",
        )
    options = f"-p {layout.ports.postgres} -h {HOST} -k {folder} {SERVER_OPTIONS}"
    _run(
        [
            str(bindir / "pg_ctl"),
            "-D",
            str(data_dir(layout)),
            "-l",
            str(folder / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            str(START_TIMEOUT_S),
            "start",
        ],
        "pg_ctl start",
    )
    for database in (TICKETS_DB, MLFLOW_DB):
        create_database(layout, database)


def stop(layout: Layout) -> bool:
    """pg_ctl stop -m fast; False when it was not running."""
    if not running(layout):
        return False
    _run(
        [
            str(bin_dir() / "pg_ctl"),
            "-D",
            str(data_dir(layout)),
            "-m",
            "fast",
            "-w",
            "-t",
            str(STOP_TIMEOUT_S),
            "stop",
        ],
        "pg_ctl stop",
    )
    return True


def running(layout: Layout) -> bool:
    if not (data_dir(layout) / "postmaster.pid").exists():
        return False
    try:
        with psycopg.connect(_dsn(layout, "postgres"), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def create_database(layout: Layout, name: str) -> None:
    with psycopg.connect(_dsn(layout, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(layout: Layout, name: str) -> None:
    with psycopg.connect(_dsn(layout, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _dsn(layout: Layout, database: str) -> str:
    return f"host={HOST} port={layout.ports.postgres} user={PG_USER} dbname={database}"


def _as_server_account() -> list[str]:
    return ["runuser", "-u", SERVER_ACCOUNT, "--"] if os.geteuid() == 0 else []


def _make_home(folder: Path) -> None:
    """Create the server's folder; as root, refuse one under the shared SERVER_BASE that
    someone else made (a link, or owned by another user), which could expose the database."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.geteuid() != 0 or not folder.is_relative_to(SERVER_BASE):
        return
    allowed = {0, pwd.getpwnam(SERVER_ACCOUNT).pw_uid}
    if folder.is_symlink() or folder.lstat().st_uid not in allowed:
        raise UserError(
            f"{folder} exists but was not made by tweetcare (a link, or another user's); "
            "remove it and run `tweetcare cluster start` again"
        )


def _hand_over(folder: Path) -> None:
    """As root: the server account owns its folder and can reach it through every parent."""
    if os.geteuid() != 0:
        return
    shutil.chown(folder, user=SERVER_ACCOUNT, group=None)
    for parent in folder.parents:
        if not os.stat(parent).st_mode & 0o001:
            raise UserError(
                f"{parent} is closed to other users, so PostgreSQL (running as "
                f"{SERVER_ACCOUNT}) cannot reach {folder}; use a cluster folder under an open path"
            )


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(
        _as_server_account() + command,
        capture_output=True,
        text=True,
        check=False,
        timeout=START_TIMEOUT_S + 30,
    )
    if result.returncode != 0:
        raise ServiceError(f"{what} failed: {(result.stderr or result.stdout).strip()[-2000:]}")


def _version(path: str) -> int:
    try:
        return int(Path(path).parents[1].name)
    except ValueError:
        return 0
