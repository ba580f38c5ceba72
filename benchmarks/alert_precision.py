"""How many escalation incidents are real: precision and recall on replayed streams.

Generates N seeded hour-long streams per scenario: steady (anything recorded is a false alarm),
a burst of similar complaints to one brand, a spike in one category spread over every brand,
and a viral thread. Each is replayed into its own lake as a stream catching up on a backlog
(the hour processed in a minute: `tweetcare.monitoring.replays`), with the monitor run as it
goes, and its incidents are read back from its ticket store: the code that runs in production
(event-time windows, the detector, the store's de-duplication), not a copy of it.

An incident is a true one when its scope is the planted event's (the brand, the category with
no brand, the thread); precision = true incidents / all incidents, recall = planted events with
a true incident / planted events. A scope recorded twice in one stream counts as a duplicate.

    python benchmarks/alert_precision.py [--streams 20] [--burst 60] [--params params.yaml] [--k 4]
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table
from tqdm import tqdm

from tweetcare.core.settings import Settings
from tweetcare.monitoring import scenarios
from tweetcare.monitoring.config import MonitorParams, load_monitor_params
from tweetcare.monitoring.replays import escalations_only, recorded_incidents, replay_backlog

# tweets per stream: about 230 per 5-minute window over 65 minutes (12 windows of history)
ROWS = 3000
MINUTES = 65.0
FIRST_SEED = 1000  # apart from the seeds the tests use
BRAND, BRAND_CATEGORY = "TelcoNetHelp", "technical"
SPREAD_CATEGORY = "billing"

Incident = Mapping[str, Any]


@dataclass(frozen=True)
class Scenario:
    """A stream maker and the test an incident must pass to be the planted event (None: a
    steady stream, where every incident is a false alarm)."""

    make: Callable[[int], pd.DataFrame]
    planted: Callable[[Incident, pd.DataFrame, int], bool] | None


def _viral_thread(stream: pd.DataFrame, seed: int) -> str:
    return str(stream.loc[stream["tweet_id"] == f"viral-{seed}-0", "conversation_id"].iloc[0])


def planted_scenarios(burst: int) -> dict[str, Scenario]:
    """The four scenarios, each planted event `burst` tweets strong."""
    return {
        "steady": Scenario(lambda seed: scenarios.steady_stream(ROWS, seed, minutes=MINUTES), None),
        "brand burst": Scenario(
            lambda seed: scenarios.burst_stream(
                ROWS, seed, BRAND, BRAND_CATEGORY, burst=burst, minutes=MINUTES
            ),
            lambda incident, _, __: incident["brand"] == BRAND,
        ),
        "category spike": Scenario(
            lambda seed: scenarios.category_burst_stream(
                ROWS, seed, SPREAD_CATEGORY, burst=burst, minutes=MINUTES
            ),
            lambda incident, _, __: (
                incident["category"] == SPREAD_CATEGORY and incident["brand"] is None
            ),
        ),
        "viral thread": Scenario(
            lambda seed: scenarios.viral_stream(ROWS, seed, replies=burst, minutes=MINUTES),
            lambda incident, stream, seed: (
                incident["conversation_id"] == _viral_thread(stream, seed)
            ),
        ),
    }


@dataclass
class Tally:
    streams: int = 0
    incidents: int = 0
    true: int = 0
    found: int = 0  # planted events with a true incident
    alarmed: int = 0  # streams with a false incident
    duplicates: int = 0  # scopes recorded more than once in one stream


def replayed_incidents(stream: pd.DataFrame, params: MonitorParams) -> list[Incident]:
    """Replay one stream into a fresh lake and ticket store; the incidents it recorded."""
    with tempfile.TemporaryDirectory(prefix="alert-precision-") as folder:
        root = Path(folder)
        settings = Settings(
            lake_dir=root / "lake",
            lake_uri="",
            tickets_db_url=f"sqlite:///{root / 'tickets.db'}",
        )
        replay_backlog(stream, settings, params)
        return recorded_incidents(settings)


def score(scenario: Scenario, seeds: range, params: MonitorParams, name: str) -> Tally:
    tally = Tally()
    for seed in tqdm(seeds, desc=name, leave=False):
        stream = scenario.make(seed)
        incidents = replayed_incidents(stream, params)
        scopes = Counter(
            (i["kind"], i["brand"], i["category"], i["conversation_id"]) for i in incidents
        )
        true = [i for i in incidents if scenario.planted and scenario.planted(i, stream, seed)]
        tally.streams += 1
        tally.incidents += len(incidents)
        tally.true += len(true)
        tally.found += bool(true)
        tally.alarmed += len(true) < len(incidents)
        tally.duplicates += sum(n - 1 for n in scopes.values())
    return tally


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.3f}" if whole else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=20, help="streams per scenario")
    parser.add_argument("--burst", type=int, default=60, help="tweets in each planted event")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--k", type=float, help="monitor.escalation.k to try instead")
    args = parser.parse_args()
    if args.streams < 1 or args.burst < 1:
        parser.error("--streams and --burst must be at least 1")
    params = escalations_only(load_monitor_params(args.params))
    if args.k is not None:
        escalation = params.escalation.model_copy(update={"k": args.k})
        params = params.model_copy(update={"escalation": escalation})
    seeds = range(FIRST_SEED, FIRST_SEED + args.streams)
    chosen = planted_scenarios(args.burst)
    tallies = {name: score(s, seeds, params, name) for name, s in chosen.items()}

    table = Table(
        title=f"escalation incidents on replayed streams ({args.streams} per scenario, "
        f"planted events of {args.burst} tweets, k={params.escalation.k:g})"
    )
    for column in ("scenario", "incidents", "true", "false", "streams alarmed", "found", "dupl."):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for name, t in tallies.items():
        found = f"{t.found}/{t.streams}" if chosen[name].planted else "-"
        table.add_row(
            name,
            str(t.incidents),
            str(t.true),
            str(t.incidents - t.true),
            f"{t.alarmed}/{t.streams}",
            found,
            str(t.duplicates),
        )
    console = Console()
    console.print(table)
    incidents = sum(t.incidents for t in tallies.values())
    true = sum(t.true for t in tallies.values())
    planted = [t for name, t in tallies.items() if chosen[name].planted]
    found = sum(t.found for t in planted)
    console.print(
        f"precision {_share(true, incidents)} ({true} of {incidents} incidents true), "
        f"recall {_share(found, sum(t.streams for t in planted))} "
        f"({found} of {sum(t.streams for t in planted)} planted events found), "
        f"duplicates {sum(t.duplicates for t in tallies.values())}"
    )


if __name__ == "__main__":
    main()
