"""Does adaptive batching batch? Many concurrent single-text /classify calls, with and without.

Starts the model server twice (adaptive batching on, then off) against the
registry in settings, or measures one running server given by --url. Prints, side by side, the
batch sizes the model saw and the throughput. Needs a champion: run `dvc repro` first. With
--shadow, a third server scores every request with `@challenger` too (shadow scoring), to show
what the challenger costs the speed budget.

    python benchmarks/batching.py --requests 2000 --concurrency 64 [--shadow]
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import httpx
import typer

from serving.launcher import start_server, stop_server
from tweetcare.core.contract import CHALLENGER
from tweetcare.core.settings import get_settings

TEXTS = [
    "@AppleSupport my phone keeps restarting since the update",
    "@12345 Sorry to hear that! Please DM us your order number ^JK",
    "@AmazonHelp my package never arrived and nobody answers",
    "@67890 We'd like to help. Send us a DM with your email",
]


@dataclass(frozen=True)
class Figures:
    mode: str
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    batches: int
    mean_batch: float
    max_batch: int
    failures: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


async def _fire(url: str, requests: int, concurrency: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    failures = 0
    queue = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60.0, limits=limits) as client:

        async def worker() -> None:
            nonlocal failures
            for i in queue:
                start = time.perf_counter()
                try:
                    response = await client.post(
                        "/classify", json={"texts": [TEXTS[i % len(TEXTS)]]}
                    )
                except httpx.TransportError:  # a dropped connection is a failed request
                    failures += 1
                    continue
                latencies.append(time.perf_counter() - start)
                failures += response.status_code != 200

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start, latencies, failures


def measure(url: str, mode: str, requests: int, concurrency: int) -> Figures:
    asyncio.run(_fire(url, min(requests, 4 * concurrency), concurrency))  # warm-up
    before = httpx.post(f"{url}/stats", timeout=10.0).json()
    seconds, latencies, failures = asyncio.run(_fire(url, requests, concurrency))
    after = httpx.post(f"{url}/stats", timeout=10.0).json()
    new = {
        int(size): n - before["batch_sizes"].get(size, 0)
        for size, n in after["batch_sizes"].items()
        if n - before["batch_sizes"].get(size, 0) > 0
    }
    batches = sum(new.values())
    quantiles = statistics.quantiles(latencies, n=20)
    return Figures(
        mode=mode,
        requests=requests,
        seconds=seconds,
        p50_ms=1000 * statistics.median(latencies),
        p95_ms=1000 * quantiles[18],
        batches=batches,
        mean_batch=sum(size * n for size, n in new.items()) / max(batches, 1),
        max_batch=max(new, default=0),
        failures=failures,
    )


def measure_started(
    mode: str, batching: bool, requests: int, concurrency: int, shadow: bool = False
) -> Figures:
    """Start a server on a free port with batching on or off (and the challenger scored in
    shadow or not), measure it, stop it."""
    with tempfile.TemporaryDirectory(prefix="tweetcare-bench-") as state:
        alias = get_settings().shadow_alias or CHALLENGER
        env = {
            "TWEETCARE_BENTO_BATCHING": str(batching).lower(),
            # /stats counts the batches of the worker that answers: one worker, every batch
            "TWEETCARE_BENTO_WORKERS": "1",
            "TWEETCARE_SHADOW_ALIAS": alias if shadow else "",
        }
        settings = get_settings().model_copy(
            update={"state_dir": Path(state), "bento_port": _free_port()}
        )
        start_server(settings, extra_env=env)
        try:
            return measure(settings.bento_url, mode, requests, concurrency)
        finally:
            stop_server(settings)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def report(rows: list[Figures]) -> None:
    header = f"{'mode':<12}{'req':>6}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}"
    header += f"{'batches':>9}{'mean bs':>9}{'max bs':>8}{'fail':>6}"
    print(header)
    for r in rows:
        print(
            f"{r.mode:<12}{r.requests:>6}{r.rps:>9.1f}{r.p50_ms:>9.1f}{r.p95_ms:>9.1f}"
            f"{r.batches:>9}{r.mean_batch:>9.1f}{r.max_batch:>8}{r.failures:>6}"
        )


def main(
    requests: Annotated[int, typer.Option(help="single-text requests per mode")] = 2000,
    concurrency: Annotated[int, typer.Option(help="requests in flight at once")] = 64,
    url: Annotated[str | None, typer.Option(help="measure this running server only")] = None,
    shadow: Annotated[
        bool, typer.Option(help="also measure with @challenger scored in shadow")
    ] = False,
) -> None:
    """Print batch sizes and throughput with and without adaptive batching."""
    if url:
        report([measure(url, "running", requests, concurrency)])
        return
    rows = [
        measure_started("batching", True, requests, concurrency),
        measure_started("no-batching", False, requests, concurrency),
    ]
    if shadow:
        rows.append(measure_started("batch+shadow", True, requests, concurrency, shadow=True))
    report(rows)


if __name__ == "__main__":
    typer.run(main)
