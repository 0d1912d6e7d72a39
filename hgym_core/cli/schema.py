"""``python -m hgym_core schema [DATA] [--out schema.json]``: infer a table's schema as JSON.

Without DATA it describes the built-in simulated HIV cohort. Validation problems of the table
under the inferred schema go to stderr, so the JSON on stdout stays clean for piping.
"""

from __future__ import annotations

import argparse
import sys

from hgym_core.cli._limits import add_table_limit_options
from hgym_core.data.demo import hiv_schema, simulate_hiv_cohort
from hgym_core.data.io import read_table
from hgym_core.data.schema import Schema, validate


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "schema",
        help="infer the schema of a patient table (or of the built-in cohort) as JSON",
        description="Propose a schema for a table with one row per patient per time step: the id and time "
                    "columns, each variable's kind, labels and whether it is static. Edit the JSON and "
                    "pass it to training.",
    )
    parser.add_argument("data", nargs="?", help="table: .csv, .csv.gz or .parquet (default: the built-in "
                                                "simulated HIV cohort)")
    parser.add_argument("--out", help="write the schema JSON here instead of printing it")
    parser.add_argument("--id-column", help="the patient id column (default: found by name or structure)")
    parser.add_argument("--time-column", help="the time column (default: found by name or structure)")
    add_table_limit_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.data:
        table = read_table(args.data, id_column=args.id_column)
        schema = Schema.infer(table, id_column=args.id_column, time_column=args.time_column)
    else:
        table = simulate_hiv_cohort()
        schema = hiv_schema(table)
    for problem in validate(table, schema):
        print(f"{problem.severity}: {problem.message}", file=sys.stderr)
    if args.out:
        path = schema.save(args.out)
        print(f"wrote the schema of {len(schema.variables)} variables to {path}")
    else:
        print(schema.to_json())
    return 0
