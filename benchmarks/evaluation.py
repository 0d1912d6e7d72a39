"""Full evaluation report time (target: <= 60 s for 8,916 real vs 8,916 synthetic patients x 60
months on a 2-core CPU, references included).

Real, holdout and synthetic tables are three simulated HIV cohorts (hgym_core.data.demo, different
seeds): 8,916 patients each for real and synthetic, and a holdout of ``--holdout`` patients
(default 8,916, the worst case: every reference is as costly as its score). Prints seconds
per score family (from the report's own timing) and the total, then the report's notes, which
say how much each model- or distance-based family subsampled.

    .venv/bin/python benchmarks/evaluation.py [--patients 8916] [--holdout 8916] [--max-patients 2000]
                                              [--threads N] [--repeats 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hgym_core.data.demo import simulate_hiv_cohort  # noqa: E402
from hgym_core.device import apply_cpu_threads, describe_device  # noqa: E402
from hgym_core.evaluation import GROUPS, evaluate  # noqa: E402
from hgym_core.data.schema import Schema  # noqa: E402

TARGET_SECONDS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=8916, help="patients in the real and the synthetic table")
    parser.add_argument("--holdout", type=int, default=8916, help="patients in the holdout (0: no holdout)")
    parser.add_argument("--max-patients", type=int, default=2000, help="evaluate(max_patients=...)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's own)")
    parser.add_argument("--repeats", type=int, default=1, help="full reports to time")
    args = parser.parse_args()
    apply_cpu_threads(args.threads)

    real = simulate_hiv_cohort(n_patients=args.patients, seed=0)
    synthetic = simulate_hiv_cohort(n_patients=args.patients, seed=1)
    holdout = simulate_hiv_cohort(n_patients=args.holdout, seed=2) if args.holdout else None
    schema = Schema.infer(real)
    print(f"evaluate: {args.patients:,} real vs {args.patients:,} synthetic patients x 60 months, "
          f"holdout {args.holdout:,}, max_patients {args.max_patients:,}, {describe_device('auto')}")
    for repeat in range(args.repeats):
        started, cpu_started = time.perf_counter(), time.process_time()
        report = evaluate(real, synthetic, schema, holdout=holdout, max_patients=args.max_patients)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        seconds = report.meta["seconds"]
        parts = ", ".join(f"{name} {seconds[name]:.1f}" for name in ("tables", *GROUPS) if name in seconds)
        verdict = "within" if wall <= TARGET_SECONDS else "OVER"
        print(f"run {repeat + 1}: {parts} | total {wall:.1f} s ({verdict} the {TARGET_SECONDS:.0f} s target); "
              f"CPU time {cpu:.1f} s (load average {os.getloadavg()[0]:.1f})")
    print(report.overview().to_string(index=False, float_format=lambda value: f"{value:.3f}"))
    print("notes:")
    for note in report.notes:
        print(f"  - {note}")


if __name__ == "__main__":
    main()
