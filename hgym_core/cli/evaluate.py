"""``python -m hgym_core evaluate``: score synthetic patients against real ones.

Writes ``report.json`` (every score, JSON) and ``report.html`` (scores, notes and every figure,
self-contained: it opens offline) into the ``--out`` folder. With ``--run`` the real side is the
run's own training patients and the holdout the patients it kept out (patients.json), read from
the data its run.json records; without a holdout the privacy distance scores say so.
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
from hgym_core.reports.html_report import write_report
from hgym_core.data.io import read_table
from hgym_core.data.schema import Schema


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score synthetic patients against real ones; write report.json and report.html",
        description="Compare a synthetic table with the real (training) table it imitates: marginals, "
                    "relationships over time, detection, utility and, with a holdout, privacy. Give the tables "
                    "(--real, --synthetic, --holdout) or a run (--run), which knows its own training and holdout "
                    "patients. Writes report.json and a self-contained report.html (opens offline) into --out.",
    )
    parser.add_argument("--run", metavar="RUN",
                        help="a run folder (or the name of one in models/): real = the patients it trained on, "
                             "holdout = the patients it kept out, both from the data it records; synthetic = "
                             "--synthetic or, without it, patients sampled from the run (--patients)")
    parser.add_argument("--real", help="real (training) table: .csv, .csv.gz or .parquet (not with --run)")
    parser.add_argument("--synthetic", help="synthetic table with the same columns (with --run: optional)")
    parser.add_argument("--holdout", help="real patients the generator never saw: enables the privacy scores "
                                          "and the real-vs-real reference of every score (not with --run)")
    parser.add_argument("--patients", type=int, metavar="N",
                        help="with --run and no --synthetic: synthetic patients to sample (default: as many as "
                             "the run trained on)")
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
    if args.run:
        real, synthetic, holdout, schema = _from_run(args)
    else:
        if not (args.real and args.synthetic):
            raise HGymError("Give the tables to compare (--real and --synthetic, optionally --holdout), or a run "
                            "(--run RUN).")
        real = _read("--real", args.real)
        synthetic = _read("--synthetic", args.synthetic)
        holdout = _read("--holdout", args.holdout) if args.holdout else None
        schema = Schema.load(args.schema) if args.schema else Schema.infer(real)
    with ProgressLine(args.progress_every) as line:
        report = evaluate(real, synthetic, schema, holdout=holdout, seed=args.seed, max_patients=args.max_patients,
                          settings=settings, progress=evaluation_progress(line))
    if args.run:   # how the run was trained: its privacy record, beside the privacy scores
        from hgym_core.runs.folder import find_run
        from hgym_core.runs.info import RunInfo

        report.meta["training_privacy"] = RunInfo.read(find_run(args.run)).privacy
    html_path, json_path = write_report(args.out, report, real, synthetic, schema, holdout, seed=args.seed)
    print(report.overview().to_string(index=False, float_format=lambda value: f"{value:.3g}"))
    print(f"wrote {json_path} and {html_path} ({time.perf_counter() - started:.1f} s)")
    return 0


def _from_run(args: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None, Schema]:
    """(real, synthetic, holdout, schema) of a run: its own split of the data it records."""
    from hgym_core.runs.folder import find_run
    from hgym_core.runs.info import RunInfo
    from hgym_core.runs.patients import NO_HOLDOUT, training_and_holdout
    from hgym_core.runs.sources import table_from_source
    from hgym_core.synthesizer import Synthesizer

    if args.real or args.holdout:
        raise HGymError("--run takes the real and holdout patients from the run itself; drop --real and --holdout.")
    folder = find_run(args.run)
    synthesizer = Synthesizer.load(folder.path)
    info = RunInfo.read(folder)
    schema = Schema.load(args.schema) if args.schema else synthesizer.schema
    real, holdout = training_and_holdout(folder, table_from_source(info.data.source if info.data else None,
                                                                   folder.name))
    n_real = real[schema.id_column].nunique()
    print(f"run '{folder.name}': {n_real:,} patients it trained on, "
          f"{0 if holdout is None else holdout[schema.id_column].nunique():,} it kept out")
    if holdout is None:
        print(NO_HOLDOUT)
    if args.synthetic:
        return real, _read("--synthetic", args.synthetic), holdout, schema
    n_synthetic = n_real if args.patients is None else args.patients
    if n_synthetic < 1:
        raise HGymError(f"--patients must be at least 1 (got {n_synthetic}).")
    return real, synthesizer.sample(n_synthetic, seed=args.seed), holdout, schema


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
