"""How often the monitor cries wolf, and how often it catches what it should.

Runs the drift check and the escalation detector on generated scenario streams over many seeds:
steady streams (every breach or alert is a false alarm), streams whose language or category
mix shifts halfway, bursts of similar complaints and a viral thread (each should be caught).

    python benchmarks/monitoring.py [--seeds 20] [--params params.yaml]

Escalations end to end (lake, monitor runs, the ticket store's incidents), as precision and
recall: benchmarks/alert_precision.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table
from tqdm import tqdm

from tweetcare.monitoring import scenarios
from tweetcare.monitoring.config import MonitorParams, load_monitor_params
from tweetcare.monitoring.drift import compare
from tweetcare.monitoring.escalation import detect
from tweetcare.monitoring.features import monitored_frame

# tweets per generated stream: two windows for drift, ~an hour of 5-minute windows for escalation
DRIFT_ROWS = 2000
ESCALATION_ROWS = 3000
ESCALATION_MINUTES = 65


def halves_breach(rows: pd.DataFrame, params: MonitorParams) -> list[str]:
    """The drift breaches between the first and the second half of one stream."""
    frame = monitored_frame(rows)
    half = len(frame) // 2
    result = compare(frame.iloc[:half], frame.iloc[half:], params, "previous")
    return [metric.key for metric in result.breaches]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="streams per scenario")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    params = load_monitor_params(args.params)
    seeds = range(100, 100 + args.seeds)
    counts = {
        name: 0
        for name in (
            "steady drift",
            "steady escalation",
            "language shift",
            "category shift",
            "burst",
            "viral thread",
        )
    }
    for seed in tqdm(seeds, desc="scenarios"):
        counts["steady drift"] += bool(
            halves_breach(scenarios.steady_stream(DRIFT_ROWS, seed), params)
        )
        steady = scenarios.steady_stream(ESCALATION_ROWS, seed, minutes=ESCALATION_MINUTES)
        counts["steady escalation"] += bool(detect(steady, params.escalation))
        for shift in ("language", "category"):
            shifted = scenarios.shifted_stream(DRIFT_ROWS, seed, shift)
            counts[f"{shift} shift"] += bool(halves_breach(shifted, params))
        burst = detect(scenarios.burst_stream(ESCALATION_ROWS, seed), params.escalation)
        counts["burst"] += bool(burst)
        viral = detect(scenarios.viral_stream(ESCALATION_ROWS, seed), params.escalation)
        counts["viral thread"] += any(alert.kind == "viral_thread" for alert in viral)

    table = Table(title=f"monitor on generated streams ({len(seeds)} seeds each)")
    table.add_column("scenario")
    table.add_column("flagged", justify="right")
    table.add_column("reads as")
    for name, flagged in counts.items():
        kind = "false-alarm rate" if name.startswith("steady") else "detection rate"
        table.add_row(name, f"{flagged}/{len(seeds)}", kind)
    Console().print(table)


if __name__ == "__main__":
    main()
