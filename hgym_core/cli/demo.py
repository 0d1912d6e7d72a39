"""``python -m hgym_core demo``: write the built-in simulated HIV ART cohort to a CSV or Parquet file."""

from __future__ import annotations

import argparse

from hgym_core.data.demo import (DEMO_MONTHS, DEMO_PATIENTS, DEMO_SEED, MAX_FOLLOW_UP, simulate_hiv_cohort,
                                  simulate_long_tailed_cohort)
from hgym_core.data.io import table_format, write_table


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="write the simulated HIV ART cohort (built-in data; simulated, not patient data)",
        description="Simulate people with HIV on antiretroviral therapy, one row per month, in the "
                    "Health Gym ART schema. The data is simulated, not patient data.",
    )
    parser.add_argument("--patients", type=int, default=DEMO_PATIENTS,
                        help=f"number of people (default {DEMO_PATIENTS})")
    parser.add_argument("--months", type=int, default=DEMO_MONTHS, help=f"months per person (default {DEMO_MONTHS})")
    parser.add_argument("--follow-up", choices=("fixed", "varying"), default="fixed",
                        help=f"'fixed': every person for --months months (Health Gym's layout); 'varying': people "
                             f"enter and leave, 1 to {MAX_FOLLOW_UP} months each, most short, a few long (the "
                             "long-tailed cohort for scale tests; --months is ignored)")
    parser.add_argument("--seed", type=int, default=DEMO_SEED, help="random seed; the same seed gives the same table")
    parser.add_argument("--out", required=True, help="output file: .csv, .csv.gz or .parquet")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    table_format(args.out)  # refuse an unknown extension before spending time on the simulation
    if args.follow_up == "varying":
        cohort = simulate_long_tailed_cohort(n_patients=args.patients, seed=args.seed)
        shape = "with 1 to {:,} months each".format(int(cohort.groupby("PatientID").size().max()))
    else:
        cohort = simulate_hiv_cohort(n_patients=args.patients, seed=args.seed, n_months=args.months)
        shape = f"x {args.months} months"
    path = write_table(cohort, args.out)
    print(f"wrote {len(cohort):,} rows ({args.patients:,} simulated patients {shape}) to {path}")
    return 0
