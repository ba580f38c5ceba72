"""Locust users for the /classify load test of `benchmarks/serving_speed.py`.

Each user is one client posting one tweet per /classify request. By default they post back to
back (no wait), so `-u 64` keeps 64 requests in flight: the server's capacity. With `--rate R`
the users together offer R requests/s (each user paced by locust's `constant_throughput`), which
is how a latency budget is measured: at a fixed offered load, not at saturation, where 64 clients
without a pause queue behind each other by construction. The tweets come from `--texts` (a JSON
list, written by `benchmarks/serving_speed.py`), else from the demo's generator.

    PYTHONPATH=$PWD .venv/bin/locust -f benchmarks/locustfile.py --headless -u 64 -r 64 -t 30s \
        --host http://127.0.0.1:3000 [--texts tweets.json] [--rate 1000]
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from locust import FastHttpUser, constant, constant_throughput, events, task

TEXTS: list[str] = []


@events.init_command_line_parser.add_listener
def _add_options(parser: Any) -> None:
    parser.add_argument("--texts", default="", help="JSON list of tweets to post, one per request")
    parser.add_argument("--seed", type=int, default=7, help="generator seed without --texts")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="requests/s offered by all users (0: no pause)"
    )


@events.init.add_listener
def _load_texts(environment: Any, **_: Any) -> None:
    options = environment.parsed_options
    if options is not None and options.rate > 0:
        SingleTweetClient.wait_time = constant_throughput(options.rate / options.num_users)
    if options is not None and options.texts:
        TEXTS[:] = json.loads(Path(options.texts).read_text())
    else:
        from tweetcare.data.generator import generate

        TEXTS[:] = generate(1024, options.seed if options is not None else 7)[0]["text"].tolist()


class SingleTweetClient(FastHttpUser):
    wait_time = constant(0)

    @task
    def classify(self) -> None:
        self.client.post("/classify", json={"texts": [random.choice(TEXTS)]}, name="/classify")
