"""``python -m hgym_core sample``: draw synthetic patients from a trained run into a CSV or Parquet file.

Patients are generated and written batch by batch (``Synthesizer.sample_to_file``), so memory
stays that of one batch at any ``--patients``; the disk is checked after the first batch.
"""

from __future__ import annotations

import argparse
from typing import Callable

from hgym_core.cli._progress import ProgressLine, add_progress_option
from hgym_core.errors import HGymError

# More than this is refused unless --allow-large says it is meant: an extra zero or two typed by
# mistake would otherwise keep the machine busy for a long time (memory stays flat and the disk
# is checked either way).
LARGE_PATIENTS = 10_000_000


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sample", help="generate synthetic patients from a trained run",
        description="Generate synthetic patients from a run folder's generator and write them in the training "
                    "table's own columns and types; patient ids run 0..N-1. The same seed gives the same patients.")
    parser.add_argument("run", metavar="RUN", help="run folder (e.g. models/hiv-1) or the name of a run in models/")
    parser.add_argument("--patients", type=int, required=True, metavar="N", help="number of patients to generate")
    parser.add_argument("--out", required=True, metavar="FILE", help="output file: .csv, .csv.gz or .parquet")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    parser.add_argument("--length", type=int, metavar="T",
                        help="time steps per patient (default: the longest patient in the training data)")
    parser.add_argument("--batch-size", type=int, default=2048, metavar="N",
                        help="patients generated at once; lower it if memory is short (default 2048)")
    parser.add_argument("--device", metavar="NAME",
                        help="'auto' (CUDA when present, else the CPU), 'cpu', 'cuda' or 'cuda:N' "
                             "(default: the run's setting)")
    parser.add_argument("--raw-csv", action="store_true",
                        help="write CSV text cells exactly as generated; by default a cell that starts with =, +, -, "
                             "@, a tab or a carriage return gets a leading ' so a spreadsheet does not run it as a "
                             "formula (Parquet is never changed)")
    parser.add_argument("--allow-large", action="store_true",
                        help=f"allow more than {LARGE_PATIENTS:,} patients")
    add_progress_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hgym_core.data.io import table_format
    from hgym_core.runs.folder import find_run
    from hgym_core.runs.info import RunInfo
    from hgym_core.runs.privacy_record import one_line
    from hgym_core.synthesizer import Synthesizer

    table_format(args.out)  # refuse an unknown extension before loading anything
    if args.patients < 1:
        raise HGymError(f"--patients must be at least 1 (got {args.patients}).")
    if args.patients > LARGE_PATIENTS and not args.allow_large:
        raise HGymError(f"--patients {args.patients:,} is more than {LARGE_PATIENTS:,} and would take a long time "
                        "to generate; add --allow-large if you mean it.")
    folder = find_run(args.run).path
    synthesizer = Synthesizer.load(folder, device=args.device)
    with ProgressLine(args.progress_every) as line:
        written = synthesizer.sample_to_file(args.out, args.patients, seed=args.seed, length=args.length,
                                             batch_size=args.batch_size, progress=sampling_progress(line),
                                             raw_csv=args.raw_csv)
    print(f"wrote {args.patients:,} synthetic patients ({written.rows:,} rows) from run '{folder.name}' to "
          f"{written.path} in {line.elapsed:.1f} s; {one_line(RunInfo.read(folder).privacy)}")
    return 0


def sampling_progress(line: ProgressLine) -> Callable[[int, int], None]:
    """'sampled 4,096/10,000 patients (41%) | 3,210 patients/s | ETA 2 s' for ``Synthesizer.sample``."""
    def report(done: int, total: int) -> None:
        rate = done / max(line.elapsed, 1e-9)
        line.show(f"sampled {done:,}/{total:,} patients ({done / total:.0%}) | {rate:,.0f} patients/s | "
                  f"ETA {(total - done) / rate:.0f} s", last=done == total)
    return report
