"""Generator throughput: rows per second for a few dataset sizes (in memory, no CSV writing).

.venv/bin/python benchmarks/generate.py [--rows 100000 1000000] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

from tweetcare.data.generator import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for rows in args.rows:
        start = time.perf_counter()
        generate(rows, args.seed)
        seconds = time.perf_counter() - start
        print(f"{rows:>10,} rows  {seconds:7.1f} s  {rows / seconds:>10,.0f} rows/s")


if __name__ == "__main__":
    main()
