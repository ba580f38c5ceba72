"""Should the analysis worker batch adaptively? /analyze throughput with it on and off.

/analyze hands the analysis worker ready-made pieces of 64 customer tweets, one after another.
BentoML's adaptive batching learns how long to hold a call for company from what it sees; after
a busy spell (several clients at once, as when the stream catches up) it holds every later
sequential call, and the stream's calls are sequential. Starts the model server twice
(`TWEETCARE_ANALYSIS_BATCHING` true, then false) on the registry in settings; for each: a
warm-up, a burst from concurrent clients, then sequential calls as the stream makes them.
Needs the analysis champions: run `dvc repro` first.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/analyze_batching.py [--clients 6]
"""

from __future__ import annotations

import random
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated

import httpx
import typer

from serving.launcher import start_server, stop_server
from tweetcare.core.settings import Settings, get_settings

PIECE = 64
WORDS = "order parcel refund bill charged twice wifi down app crash flight delayed bag Boston"


def customer_tweets(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    words = WORDS.split()
    return [
        f"@AmazonHelp my {rng.choice(words)} {rng.choice(words)} #{i} is still a problem, help!"
        for i in range(n)
    ]


def sequential_rate(http: httpx.Client, url: str, texts: list[str], size: int) -> float:
    start = time.monotonic()
    for i in range(0, len(texts), size):
        http.post(url, json={"texts": texts[i : i + size]}).raise_for_status()
    return len(texts) / (time.monotonic() - start)


def burst_rate(url: str, texts: list[str], clients: int, calls: int) -> float:
    def client(k: int) -> None:
        with httpx.Client(timeout=600.0) as http:
            for j in range(calls):
                start = ((k * calls + j) * PIECE) % (len(texts) - PIECE)
                http.post(url, json={"texts": texts[start : start + PIECE]}).raise_for_status()

    began = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    return clients * calls * PIECE / (time.monotonic() - began)


def measure(base: Settings, batching: bool, clients: int, calls: int) -> dict[str, float]:
    settings = base.model_copy(update={"state_dir": Path(tempfile.mkdtemp(prefix="bench-an-"))})
    start_server(settings, extra_env={"TWEETCARE_ANALYSIS_BATCHING": str(batching).lower()})
    url = f"{settings.bento_url}/analyze"
    texts = customer_tweets(2048)
    try:
        with httpx.Client(timeout=600.0) as http:
            for i in range(40):  # past the dispatcher's warm-up and first training rounds
                http.post(url, json={"texts": texts[i * 16 : i * 16 + 16]}).raise_for_status()
            before = sequential_rate(http, url, texts[:1024], PIECE)
            burst = burst_rate(url, texts, clients, calls)
            after = sequential_rate(http, url, texts[1024:], PIECE)
            big = sequential_rate(http, url, texts[:1024], 1024)
    finally:
        stop_server(settings)
    return {"sequential": before, "burst": burst, "after burst": after, "1024 at once": big}


def main(
    clients: Annotated[int, typer.Option(help="concurrent clients in the burst")] = 6,
    calls: Annotated[int, typer.Option(help="calls of 64 tweets per client")] = 12,
) -> None:
    """Print customer tweets/s on /analyze, adaptive batching on and off, side by side."""
    base = get_settings()
    rows = {on: measure(base, on, clients, calls) for on in (True, False)}
    columns = list(rows[True])
    print(f"{'analysis batching':<18}" + "".join(f"{c:>16}" for c in columns))
    for on, figures in rows.items():
        print(f"{'on' if on else 'off':<18}" + "".join(f"{figures[c]:>16.0f}" for c in columns))
    print(f"customer tweets/s on /analyze; sequential calls of {PIECE} unless named")


if __name__ == "__main__":
    typer.run(main)
