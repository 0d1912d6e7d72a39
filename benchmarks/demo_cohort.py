"""Time the built-in simulated HIV cohort at its default size (target: <= 10 s on 2 CPU cores).

Run: .venv/bin/python benchmarks/demo_cohort.py [--patients 8916] [--repeats 3]
Prints the median of the repeats, the row count, and whether a repeat gave the identical table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hgym_core.data.demo import simulate_hiv_cohort  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=8916)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    seconds, tables = [], []
    for _ in range(args.repeats):
        started = time.perf_counter()
        tables.append(simulate_hiv_cohort(n_patients=args.patients, seed=args.seed))
        seconds.append(time.perf_counter() - started)
    identical = all(table.equals(tables[0]) for table in tables[1:])
    print(f"demo cohort: {args.patients:,} patients x 60 months = {len(tables[0]):,} rows; "
          f"median {statistics.median(seconds):.2f} s over {args.repeats} runs "
          f"(min {min(seconds):.2f}, max {max(seconds):.2f}); target <= 10 s; "
          f"same seed identical: {identical}")


if __name__ == "__main__":
    main()
