"""``python -m hgym_core evaluate``: score synthetic patients against real ones.

Writes ``report.json`` (every score, JSON) and ``report.html`` (scores, notes and every figure,
self-contained: it opens offline) into the ``--out`` folder.
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

import pandas as pd

from hgym_core.cli._limits import add_table_limit_options
from hgym_core.cli._progress import ProgressLine, add_progress_option
from hgym_core.errors import HGymError
from hgym_core.evaluation import GROUPS, EvaluationSettings, evaluate
from hgym_core.evaluation.evaluator import DEFAULT_MAX_PATIENTS
from hgym_core.evaluation.html_report import write_report
from hgym_core.data.io import read_table
from hgym_core.data.schema import Schema


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score synthetic patients against real ones; write report.json and report.html",
        description="Compare a synthetic table with the real (training) table it imitates: marginals, "
                    "relationships over time, detection, utility and, with --holdout, privacy. Writes "
                    "report.json and a self-contained report.html (opens offline) into --out.",
    )
    parser.add_argument("--real", required=True, help="real (training) table: .csv, .csv.gz or .parquet")
    parser.add_argument("--synthetic", required=True, help="synthetic table with the same columns")
    parser.add_argument("--holdout", help="real patients the generator never saw: enables the privacy scores "
                                          "and the real-vs-real reference of every score")
    parser.add_argument("--schema", help="schema.json (default: inferred from the real table)")
    parser.add_argument("--out", required=True, help="folder for report.json and report.html (created if needed)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same report")
    parser.add_argument("--groups", default=",".join(GROUPS),
                        help=f"score families, comma-separated (default: all of {','.join(GROUPS)}); "
                             "leave out detection and utility, which train small models, for a quick look")
    parser.add_argument("--max-patients", type=int, default=DEFAULT_MAX_PATIENTS,
                        help=f"patients per table for the model- and distance-based scores "
                             f"(default {DEFAULT_MAX_PATIENTS}; the report notes any subsampling)")
    add_table_limit_options(parser)
    add_progress_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    settings = _settings(args.groups)  # before reading tables, so a typo fails at once
    real = _read("--real", args.real)
    synthetic = _read("--synthetic", args.synthetic)
    holdout = _read("--holdout", args.holdout) if args.holdout else None
    schema = Schema.load(args.schema) if args.schema else Schema.infer(real)
    with ProgressLine(args.progress_every) as line:
        report = evaluate(real, synthetic, schema, holdout=holdout, seed=args.seed, max_patients=args.max_patients,
                          settings=settings, progress=evaluation_progress(line))
    html_path, json_path = write_report(args.out, report, real, synthetic, schema, holdout, seed=args.seed)
    print(report.overview().to_string(index=False, float_format=lambda value: f"{value:.3g}"))
    print(f"wrote {json_path} and {html_path} ({time.perf_counter() - started:.1f} s)")
    return 0


def evaluation_progress(line: ProgressLine) -> Callable[[str, float], None]:
    """'evaluating 41% | detection: sequence classifier 2 of 3 (synthetic) | 12 s' for ``evaluate``."""
    def report(stage: str, fraction: float) -> None:
        line.show(f"evaluating {fraction:.0%} | {stage} | {line.elapsed:.0f} s", last=fraction >= 1.0)
    return report


def _read(option: str, path: str) -> pd.DataFrame:
    """The table, or an HGymError that says which option pointed at the bad file."""
    try:
        return read_table(path)
    except HGymError as problem:
        raise HGymError(f"{option}: {problem}") from None


def _settings(groups: str) -> EvaluationSettings:
    try:
        return EvaluationSettings(groups=tuple(name.strip() for name in groups.split(",") if name.strip()))
    except HGymError as problem:
        raise HGymError(f"--groups: {problem}") from None
