"""The serving speed budget: /analyze at batch 256, /classify under 64 single-tweet clients.

For each server (`--before`: the server of commit BEFORE_COMMIT; `--before-registry`: today's
server on a second registry; then today's server on `--registry`) starts the real model server
on a free port, and measures, on the demo's mix of customer tweets and brand replies:
- /analyze: tweets/s posting calls of 256 tweets one after another (after a warm-up);
- /classify, flat out: a headless `locust` run (benchmarks/locustfile.py), 64 users each posting
  one tweet per request without a pause: the requests/s the server can take;
- /classify at the budget's load: the same 64 users offering `--rate` requests/s together
  (1,000 by default): requests/s served, p50, p99 and failures from locust's stats CSV. The
  latency budget is judged here: at saturation 64 clients without a pause queue behind each
  other by construction (Little's law: p50 is about 64 / throughput);
- adaptive batching: BentoML's `bentoml_service_adaptive_batch_size` histogram (requests merged
  into one call of the inbound model) read from /metrics before and after the paced run.
Then prints one table with the targets (2,000 tweets/s; 1,000 requests/s; p99 50 ms) beside
the figures and says which are met. Locust and the server share this machine's cores.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/serving_speed.py --registry sqlite:///$PWD/mlflow.db \
        [--before] [--before-registry sqlite:////elsewhere/mlflow.db] [--seconds 30] [--users 64]
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import httpx
import typer
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from benchmarks.analyze_batching import sequential_rate
from benchmarks.batching import _fire, _free_port
from benchmarks.old_code import package_at
from serving.launcher import REPO_ROOT, start_server, stop_server
from tweetcare.core.contract import ANALYZE_UNAVAILABLE_KEY
from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings, get_settings
from tweetcare.data.generator import generate
from tweetcare.process import ServiceError

ANALYZE_BATCH = 256
TARGET_TWEETS_S = 2000.0
TARGET_RPS = 1000.0
TARGET_P99_MS = 50.0
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
# BentoML's histogram of how many requests its dispatcher merged into one model call
BATCH_METRIC = "bentoml_service_adaptive_batch_size"
# the batchable methods that score /classify's texts: today's public `classify`, and `predict` of
# the inbound worker that the server before it forwarded each request to
BATCHED_METHODS = ("classify", "predict")
# the last server with two HTTP hops per /classify request (public service -> inbound worker)
BEFORE_COMMIT = "2d98b12"
START_TIMEOUT_S = 300.0
console = Console()


@dataclass(frozen=True)
class Load:
    """Locust's aggregated figures for the /classify load test."""

    requests: int
    failures: int
    rps: float
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True)
class Batches:
    """The adaptive-batch-size histogram: model calls, requests in them, cumulative buckets."""

    calls: float
    requests: float
    buckets: tuple[tuple[float, float], ...]  # (upper bound, calls with at most that many)

    def minus(self, earlier: Batches) -> Batches:
        before = dict(earlier.buckets)
        return Batches(
            self.calls - earlier.calls,
            self.requests - earlier.requests,
            tuple((le, n - before.get(le, 0.0)) for le, n in self.buckets),
        )

    @property
    def mean(self) -> float:
        return self.requests / self.calls if self.calls else 0.0

    def spread(self) -> str:
        """Calls per range of batch sizes, e.g. `1: 20, 2: 3, 3-4: 41, 5-8: 212`."""
        parts, low, below = [], 1, 0.0
        for le, n in self.buckets:
            if n - below > 0:
                high = "+" if le == float("inf") else str(int(le))
                parts.append(f"{low if str(low) == high else f'{low}-{high}'}: {n - below:.0f}")
            if le != float("inf"):
                low = int(le) + 1
            below = n
        return ", ".join(parts) or "no model calls"


@dataclass(frozen=True)
class Server:
    """One server to measure: a label, its registry, and the commit of its code (None: today's)."""

    label: str
    registry: str
    commit: str | None = None


@dataclass(frozen=True)
class Row:
    server: Server
    analyze_tweets_s: float | None
    analyze_note: str
    capacity: Load
    load: Load
    batches: Batches


def demo_mix(rows: int, seed: int) -> list[str]:
    """The demo's generated tweets, customer tweets and brand replies in their own order."""
    tweets, _ = generate(rows, seed)
    inbound = float(tweets["inbound"].mean())
    console.print(f"demo mix: {rows} generated tweets (seed {seed}), {inbound:.0%} inbound")
    return tweets["text"].tolist()


def read_batches(url: str) -> Batches:
    """The inbound model's adaptive-batch histogram from /metrics, summed over its workers."""
    text = httpx.get(f"{url}/metrics", timeout=30.0).text
    calls = requests = 0.0
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != BATCH_METRIC:
            continue
        for sample in family.samples:
            if sample.labels.get("method_name") not in BATCHED_METHODS:
                continue
            if sample.name.endswith("_count"):
                calls += sample.value
            elif sample.name.endswith("_sum"):
                requests += sample.value
            elif sample.name.endswith("_bucket"):
                le = float(sample.labels["le"])
                buckets[le] = buckets.get(le, 0.0) + sample.value
    return Batches(calls, requests, tuple(sorted(buckets.items())))


def analyze_rate(url: str, texts: list[str], batches: int) -> tuple[float | None, str]:
    """Tweets/s on /analyze in calls of 256, one after another; None and why when it cannot."""
    pieces = [texts[i : i + ANALYZE_BATCH] for i in range(0, len(texts), ANALYZE_BATCH)]
    warm, timed = pieces[:2], pieces[2 : 2 + batches]
    elapsed = 0.0
    with httpx.Client(timeout=600.0) as http, _progress() as progress:
        task = progress.add_task(
            f"/analyze, {len(timed)} calls of {ANALYZE_BATCH}", total=len(timed)
        )
        for piece in warm:
            answer = http.post(f"{url}/analyze", json={"texts": piece})
            if answer.status_code == 503:  # no analysis champions: /model_info says why
                info = http.get(f"{url}/model_info").json()
                return None, info.get(ANALYZE_UNAVAILABLE_KEY, "/analyze answered 503")
            answer.raise_for_status()
        for piece in timed:
            elapsed += len(piece) / sequential_rate(http, f"{url}/analyze", piece, ANALYZE_BATCH)
            progress.advance(task)
    return sum(len(p) for p in timed) / elapsed, ""


def run_locust(
    url: str, texts_file: Path, work: Path, users: int, seconds: int, rate: float = 0.0
) -> Load:
    """A headless locust run against /classify (``rate`` requests/s offered in all, 0: no pause
    between requests); its stats CSV's aggregated row."""
    name = f"locust-{rate:.0f}" if rate else "locust-flat-out"
    prefix, log = work / name, work / f"{name}.log"
    command = [str(Path(sys.executable).with_name("locust")), "-f", str(LOCUSTFILE)]
    command += ["--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds}s"]
    command += ["--host", url, "--csv", str(prefix), "--texts", str(texts_file)]
    command += ["--only-summary", "--stop-timeout", "5", "--exit-code-on-error", "0"]
    command += ["--rate", str(rate)]
    offered = f"{rate:,.0f} req/s offered" if rate else "flat out"
    with log.open("w") as out, _progress() as progress:
        task = progress.add_task(f"/classify, locust {users} users, {offered}", total=seconds)
        began = time.monotonic()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        while process.poll() is None:
            spent = time.monotonic() - began
            progress.update(task, completed=min(spent, seconds))
            if spent > seconds + 120:  # locust stops itself at -t; this one hangs
                process.kill()
            time.sleep(0.5)
    if process.returncode != 0:
        tail = " | ".join(log.read_text().strip().splitlines()[-3:])
        raise UserError(f"locust exited with {process.returncode} (log {log}): {tail}")
    with (work / f"{name}_stats.csv").open() as stats:
        row = next(r for r in csv.DictReader(stats) if r["Name"] == "Aggregated")
    with (work / f"{name}_failures.csv").open() as errors:  # refused connections count here only
        failures = sum(int(e["Occurrences"]) for e in csv.DictReader(errors))
    if not int(row["Request Count"]):
        raise UserError(f"no /classify request answered at {url} ({failures} failed; log {log})")
    return Load(
        requests=int(row["Request Count"]),
        failures=max(int(row["Failure Count"]), failures),
        rps=float(row["Requests/s"]),
        p50_ms=float(row["50%"]),
        p99_ms=float(row["99%"]),
    )


def measure(server: Server, texts: list[str], opts: dict[str, int | float]) -> Row:
    """Start `server`, measure /analyze and /classify (flat out, then paced), stop it."""
    work = Path(tempfile.mkdtemp(prefix=f"tweetcare-serving-{server.label}-"))
    settings: Settings = get_settings().model_copy(
        update={
            "mlflow_tracking_uri": _absolute(server.registry),
            "bento_port": _free_port(),
            "state_dir": work / "state",
        }
    )
    texts_file = work / "tweets.json"
    texts_file.write_text(json.dumps(texts))
    root = package_at(server.commit, "serving", work / "old") if server.commit else REPO_ROOT
    console.rule(f"{server.label}: {server.registry}, code of {server.commit or 'today'}")
    with console.status("starting the model server (loading models takes minutes here)"):
        began = time.monotonic()
        env = {"BENTOML_HOME": str(work / "bentoml")}
        start_server(settings, extra_env=env, timeout=float(opts["start_timeout"]), root=root)
    console.print(f"server ready at {settings.bento_url} in {time.monotonic() - began:.0f} s")
    url = settings.bento_url
    users, seconds = int(opts["users"]), int(opts["seconds"])
    try:
        tweets_s, note = analyze_rate(url, texts, int(opts["batches"]))
        asyncio.run(_fire(url, 8 * users, users))  # the dispatcher's warm-up, at full concurrency
        capacity = run_locust(url, texts_file, work, users, seconds)
        before = read_batches(url)
        load = run_locust(url, texts_file, work, users, seconds, float(opts["rate"]))
        batches = read_batches(url).minus(before)
    finally:
        stop_server(settings)
        if server.commit:
            shutil.rmtree(root, ignore_errors=True)
    console.print(f"locust stats, server log and tweets kept in {work}")
    return Row(server, tweets_s, note, capacity, load, batches)


def report(rows: list[Row], rate: float) -> None:
    table = Table(title="serving speed (figures measured in this run)")
    table.add_column("")
    table.add_column("registry, code", overflow="fold")
    at = f"@ {rate:,.0f}/s offered"
    for name in ("/analyze tweets/s @256", "/classify req/s flat out", f"req/s {at}"):
        table.add_column(name, justify="right")
    for name in (f"p50 ms {at}", f"p99 ms {at}", "failures", "mean adaptive batch"):
        table.add_column(name, justify="right")
    for r in rows:
        table.add_row(
            r.server.label,
            f"{r.server.registry}, {r.server.commit or 'today'}",
            "n/a" if r.analyze_tweets_s is None else f"{r.analyze_tweets_s:,.0f}",
            f"{r.capacity.rps:,.0f}",
            f"{r.load.rps:,.0f}",
            f"{r.load.p50_ms:.0f}",
            f"{r.load.p99_ms:.0f}",
            f"{r.capacity.failures + r.load.failures} of {r.capacity.requests + r.load.requests:,}",
            f"{r.batches.mean:.1f}",
        )
    table.add_row(
        "target",
        "",
        f"≥ {TARGET_TWEETS_S:,.0f}",
        f"≥ {TARGET_RPS:,.0f}",
        "",
        "",
        f"≤ {TARGET_P99_MS:.0f}",
    )
    # a table cut to 80 columns (rich's width when the output is not a terminal) hides figures
    console.width = max(console.width, 170)
    console.print(table)
    for r in rows:
        label = r.server.label
        verdicts = [
            _verdict(
                f"/analyze ≥ {TARGET_TWEETS_S:,.0f} tweets/s", r.analyze_tweets_s, TARGET_TWEETS_S
            ),
            _verdict(f"/classify ≥ {TARGET_RPS:,.0f} req/s", r.capacity.rps, TARGET_RPS),
            _verdict(f"p99 ≤ {TARGET_P99_MS:.0f} ms {at}", r.load.p99_ms, -TARGET_P99_MS),
        ]
        if r.load.rps < 0.95 * rate:
            verdicts.append(f"served only {r.load.rps:,.0f} of the {rate:,.0f} req/s offered")
        console.print(f"{label}: " + "; ".join(verdicts))
        if r.analyze_note:
            console.print(f"{label}: /analyze unavailable: {r.analyze_note}")
        b = r.batches
        console.print(
            f"{label}: adaptive batching merged {b.requests:,.0f} /classify requests {at} into "
            f"{b.calls:,.0f} model calls (mean {b.mean:.1f} per call); calls by requests "
            f"merged: {b.spread()}"
        )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    console.print(
        f"locust and the server shared this machine's {os.cpu_count()} cores "
        f"(load average now {load}: anything above {os.cpu_count()} means other work ran too)"
    )


def _verdict(name: str, value: float | None, target: float) -> str:
    """`name: met (value)` or `NOT met`; a negative target is a ceiling, a positive a floor."""
    if value is None:
        return f"{name}: not measured"
    met = value >= target if target >= 0 else value <= -target
    return f"{name}: {'met' if met else 'NOT met'} ({value:,.0f})"


def _absolute(uri: str) -> str:
    """A relative sqlite URI made absolute: the server runs from the repository root."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
        return prefix + str(Path(uri.removeprefix(prefix)).resolve())
    return uri


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console
    )


def main(
    registry: Annotated[
        str | None,
        typer.Option(help="MLflow tracking URI to measure (default TWEETCARE_MLFLOW_TRACKING_URI)"),
    ] = None,
    before: Annotated[
        bool,
        typer.Option(help=f"also measure the server of commit {BEFORE_COMMIT} (same registry)"),
    ] = False,
    before_registry: Annotated[
        str | None, typer.Option(help="a second registry (e.g. older models), measured first")
    ] = None,
    batches: Annotated[int, typer.Option(help="timed /analyze calls of 256 tweets")] = 8,
    users: Annotated[int, typer.Option(help="locust users (concurrent clients)")] = 64,
    seconds: Annotated[int, typer.Option(help="length of each locust run")] = 30,
    rate: Annotated[
        float, typer.Option(help="requests/s the users offer together in the paced run")
    ] = TARGET_RPS,
    seed: Annotated[int, typer.Option(help="seed of the generated tweets")] = 7,
    start_timeout: Annotated[
        float, typer.Option(help="seconds to wait for a server to be ready")
    ] = START_TIMEOUT_S,
) -> None:
    """Print /analyze tweets/s at batch 256 and /classify req/s, p50, p99 under locust."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    after = registry or get_settings().mlflow_tracking_uri
    texts = demo_mix(ANALYZE_BATCH * (batches + 2), seed)
    opts = {"batches": batches, "users": users, "seconds": seconds, "rate": rate}
    opts["start_timeout"] = start_timeout
    servers = [Server("before", after, BEFORE_COMMIT)] if before else []
    servers += [Server("before-registry", before_registry)] if before_registry else []
    servers.append(Server("now", after))
    report([measure(server, texts, opts) for server in servers], rate)


def cli() -> None:
    """`main`, with the project's known failures as one line and no traceback."""
    try:
        typer.run(main)
    except (UserError, ServiceError, httpx.HTTPError) as err:
        Console(stderr=True).print(f"error: {' '.join(str(err).split())}", soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    cli()
