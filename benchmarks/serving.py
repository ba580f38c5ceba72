"""How fast is the model server? /analyze at batch 256 and /classify under 64 concurrent users.

Measures two trees in the same run, each serving a registry trained by that tree's own test
fixtures on the same tiny generated data: BEFORE (a git revision, default c1ba26b, checked out
into a temp dir) and AFTER (this working tree). For each it starts `bentoml serve`, then

- posts batches of 256 generated tweets with the demo's inbound/outbound mix to /analyze and
  reports tweets/s (the whole /analyze: inbound model, then the analysis models on customers);
- runs `locust --headless` with 64 users, each posting one tweet per /classify request, and
  reports requests/s, p50 and p99 from locust's own statistics;
- reads the adaptive batch sizes the model services saw from the server's /metrics.

    python benchmarks/serving.py                       # before c1ba26b vs this tree
    python benchmarks/serving.py --before-ref none     # this tree only

Needs no GPU, network or registry: everything is trained in temp dirs (minutes on 2 cores).
Measure on an idle machine; the load average is printed beside the figures.
"""

from __future__ import annotations

import csv
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import httpx
import typer

REPO = Path(__file__).resolve().parents[1]
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
READY_TIMEOUT_S = 300.0
SERVE = [
    str(Path(sys.executable).with_name("bentoml")),
    "serve",
    "serving.service:TweetClassifier",
    "--host",
    "127.0.0.1",
]
# trains a tiny registry with the tree on PYTHONPATH, through that tree's own test fixtures
TRAIN_SNIPPET = """
import sys
from pathlib import Path
from tests.integration.test_analyze import register_inbound
from tests.fixtures.analysis import register_analysis_models
work = Path(sys.argv[1])
uri = f"sqlite:///{work / 'mlflow.db'}"
register_inbound(uri)
register_analysis_models(uri, work)
"""
BATCH_METRIC = re.compile(r"^bentoml_service_adaptive_batch_size_(sum|count)\{([^}]*)\}\s+(\S+)$")


@dataclass
class Figures:
    tree: str
    analyze_tweets_per_s: float
    customer_share: float
    rps: float
    p50_ms: float
    p99_ms: float
    failures: int
    mean_batch: dict[str, float]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def checkout(ref: str, into: Path) -> Path:
    """The tree at ``ref`` as plain files (git archive): no worktree, nothing to clean in git."""
    archive = subprocess.run(
        ["git", "archive", ref], cwd=REPO, capture_output=True, check=True
    ).stdout
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def tree_env(tree: Path, work: Path, registry: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWEETCARE_", "MLFLOW_"))}
    return {
        **env,
        "PYTHONPATH": str(tree),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "BENTOML_HOME": str(work / "bentoml"),
        "TWEETCARE_MLFLOW_TRACKING_URI": registry or f"sqlite:///{work / 'mlflow.db'}",
        "TWEETCARE_STATE_DIR": str(work / "state"),
    }


def train_registry(tree: Path, work: Path) -> None:
    typer.echo(f"training a tiny registry with {tree} ...")
    subprocess.run(
        [sys.executable, "-c", TRAIN_SNIPPET, str(work)],
        cwd=tree,  # the fixtures read config/ relative to the project
        env=tree_env(tree, work),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_server(
    tree: Path, work: Path, port: int, registry: str | None = None
) -> subprocess.Popen[bytes]:
    log = (work / "server.log").open("wb")
    process = subprocess.Popen(
        [*SERVE, "--port", str(port)],
        cwd=tree,
        env=tree_env(tree, work, registry),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited; see {work / 'server.log'}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(1)
    stop(process)
    raise RuntimeError(f"server not ready in {READY_TIMEOUT_S:.0f} s; see {work / 'server.log'}")


def stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def demo_batch(size: int, seed: int = 7) -> tuple[list[str], float]:
    """``size`` generated tweets in the demo's mix, and the share of customer tweets in it."""
    from tweetcare.data.generator import generate

    tweets, _ = generate(size * 4, seed)
    picked = tweets.sample(n=size, random_state=seed)
    return picked["text"].astype(str).tolist(), float(picked["inbound"].astype(bool).mean())


def analyze_speed(url: str, texts: list[str], seconds: float) -> float:
    """Tweets/s of back-to-back /analyze calls of ``texts`` (after one warm-up call)."""
    with httpx.Client(base_url=url, timeout=300) as client:
        client.post("/analyze", json={"texts": texts}).raise_for_status()
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            client.post("/analyze", json={"texts": texts}).raise_for_status()
            done += len(texts)
        return done / (time.perf_counter() - start)


def locust_run(url: str, users: int, seconds: int, work: Path) -> tuple[float, float, float, int]:
    """(requests/s, p50 ms, p99 ms, failures) of /classify from locust's stats CSV."""
    prefix = work / "locust"
    locust = str(Path(sys.executable).with_name("locust"))
    command = [locust, "-f", str(LOCUSTFILE), "--headless", "--host", url, "--only-summary"]
    command += ["-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--csv", str(prefix)]
    subprocess.run(
        command,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with (work / "locust_stats.csv").open() as handle:
        row = next(r for r in csv.DictReader(handle) if r["Name"] == "/classify")
    return (
        float(row["Requests/s"]),
        float(row["50%"]),
        float(row["99%"]),
        int(row["Failure Count"]),
    )


def batch_sizes(url: str) -> dict[str, float]:
    """Mean requests merged per model call, by service.method, from the server's /metrics
    (BentoML's `adaptive_batch_size` histogram)."""
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        found = BATCH_METRIC.match(line)
        if not found:
            continue
        kind, labels, value = found.groups()
        runner = re.search(r'runner_name="([^"]*)"', labels)
        method = re.search(r'method_name="([^"]*)"', labels)
        key = f"{runner.group(1) if runner else '?'}.{method.group(1) if method else '?'}"
        target = sums if kind == "sum" else counts
        target[key] = target.get(key, 0.0) + float(value)
    return {k: sums[k] / counts[k] for k in sums if counts.get(k)}


def measure(
    name: str, tree: Path, work: Path, users: int, seconds: int, registry: str | None = None
) -> Figures:
    """Serve ``registry`` (else a tiny one trained now by the tree's fixtures) and measure it."""
    if registry is None:
        train_registry(tree, work)
    port = free_port()
    process = start_server(tree, work, port, registry)
    url = f"http://127.0.0.1:{port}"
    try:
        texts, share = demo_batch(256)
        tweets_per_s = analyze_speed(url, texts, seconds)
        rps, p50, p99, failures = locust_run(url, users, seconds, work)
        sizes = batch_sizes(url)
    finally:
        stop(process)
    return Figures(name, tweets_per_s, share, rps, p50, p99, failures, sizes)


def main(
    before_ref: Annotated[
        str, typer.Option(help="git revision measured as BEFORE; 'none' skips")
    ] = ("c1ba26b"),
    users: Annotated[int, typer.Option(help="concurrent locust users on /classify")] = 64,
    seconds: Annotated[int, typer.Option(help="length of each measurement")] = 30,
    after_registry: Annotated[
        str | None,
        typer.Option(
            help="serve this MLflow registry for AFTER (e.g. sqlite:///mlflow.db after "
            "dvc repro) instead of training a tiny one"
        ),
    ] = None,
) -> None:
    """Print the speed table: /analyze tweets/s at batch 256, /classify req/s and p50/p99."""
    rows: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="tweetcare-serving-bench-") as tmp:
        root = Path(tmp)
        trees = [] if before_ref == "none" else [(f"before {before_ref}", root / "before")]
        if trees:
            checkout(before_ref, trees[0][1])
        trees.append(("after (this tree)", REPO))
        for i, (name, tree) in enumerate(trees):
            work = root / f"work{i}"
            work.mkdir()
            registry = after_registry if tree == REPO else None
            rows.append(measure(name, tree, work, users, seconds, registry))
    load = os.getloadavg()
    typer.echo(
        f"\nload average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores"
    )
    header = "| tree | /analyze tweets/s (b256) | /classify req/s | p50 ms | p99 ms | failures |"
    typer.echo(header)
    typer.echo("|---|---|---|---|---|---|")
    for r in rows:
        typer.echo(
            f"| {r.tree} | {r.analyze_tweets_per_s:,.0f} ({r.customer_share:.0%} customers) "
            f"| {r.rps:,.0f} | {r.p50_ms:.0f} | {r.p99_ms:.0f} | {r.failures} |"
        )
    for r in rows:
        sizes = ", ".join(f"{k}: {v:.1f}" for k, v in sorted(r.mean_batch.items())) or "none"
        typer.echo(f"mean adaptive batch size ({r.tree}): {sizes}")


if __name__ == "__main__":
    typer.run(main)
