"""Training and sampling at scale: generator steps per second and peak memory against cohort size.

Run: .venv/bin/python benchmarks/scale.py [--patients 1000 10000 100000] [--budget 60] [--threads 2]
                                         [--longest 250] [--quality] [--preset auto] [--work DIR]
                                         [--cohort long-tailed|built-in] [--train-flag=--FLAG ...]

For each size it writes the long-tailed built-in cohort (``demo --follow-up varying``: 1 to 250
months a patient, median 9; ``--longest`` cuts every patient there, for a series against the
longest patient at about fixed rows), or with ``--cohort built-in`` the dashboard's own cohort
(every patient 60 months; ``--patients 8916 --budget 600`` is what ``make run`` trains), with
its published schema, trains it with every default of
``--preset`` under a ``--budget`` time budget (``python -m hgym_core train``, its own process, so
its peak memory is its own), samples as many patients as it has (``sample``), and prints one row:
patients, rows, longest, generator steps, steps/s, training wall clock, peak memory of training
and of sampling. ``--quality`` adds the scores of ``evaluate --run`` (the run's own holdout), one line each as
the quality benchmark aggregates them (value / real-vs-holdout reference, with the largest
category-share gap), and the synthetic table's rows per patient (median, 99th percentile).
Prints figures; asserts nothing. One size at a time: never time two runs at once on two cores.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._peak_rss import mb, peak_rss  # noqa: E402
from benchmarks.quality_bench import table as score_table  # noqa: E402
from hgym_core.data.demo import hiv_schema, simulate_hiv_cohort, simulate_long_tailed_cohort  # noqa: E402
from hgym_core.data.io import read_table, write_table  # noqa: E402
from hgym_core.data.schema import Schema  # noqa: E402
from hgym_core.evaluation import Report  # noqa: E402

COHORTS = {"long-tailed": simulate_long_tailed_cohort, "built-in": simulate_hiv_cohort}


def write_cohort(cohort: str, patients: int, longest: int | None, folder: Path) -> tuple[Path, Path, dict]:
    table = COHORTS[cohort](n_patients=patients, seed=0)
    if longest is not None:
        table = table[table["Timestep"] < longest]
    data, schema = folder / f"{cohort}-{patients}.csv.gz", folder / f"{cohort}-{patients}.schema.json"
    write_table(table, data)
    schema.write_text(hiv_schema(table).to_json())
    rows = table.groupby("PatientID").size()
    return data, schema, {"rows": len(table), "longest": int(rows.max()), "median": float(rows.median()),
                          "p99": float(rows.quantile(0.99))}


def train(data: Path, schema: Path, run: Path, args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    code, peak, output = peak_rss([sys.executable, "-m", "hgym_core", "train", str(data), "--schema", str(schema),
                                   "--out", str(run), "--preset", args.preset, "--time-budget", f"{args.budget}s",
                                   "--cpu-threads", str(args.threads), "--progress-every", "600", *args.train_flag])
    wall = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"training failed ({code}):\n{output}")
    with open(run / "metrics.csv", newline="") as handle:
        steps = list(csv.DictReader(handle))
    training = sum(float(row["seconds"]) for row in steps)
    return {"steps": len(steps), "steps_per_s": len(steps) / training if training else 0.0, "wall": wall,
            "train_peak": peak}


def sample(run: Path, patients: int, out: Path, threads: int) -> dict:
    code, peak, output = peak_rss([sys.executable, "-m", "hgym_core", "sample", str(run), "--patients", str(patients),
                                   "--out", str(out)], env={"OMP_NUM_THREADS": str(threads)})
    if code != 0:
        raise SystemExit(f"sampling failed ({code}):\n{output}")
    rows = read_table(out).groupby("PatientID").size()
    return {"sample_peak": peak, "syn_median": float(rows.median()), "syn_p99": float(rows.quantile(0.99))}


def quality(run: Path, real: Path, schema: Path, synthetic: Path, folder: Path) -> list[str]:
    """One line per score of the quality benchmark's table: value / the real-vs-holdout reference."""
    out = folder / "report"
    code, _, output = peak_rss([sys.executable, "-m", "hgym_core", "evaluate", "--run", str(run), "--synthetic",
                                str(synthetic), "--out", str(out), "--progress-every", "600"])
    if code != 0:
        raise SystemExit(f"evaluation failed ({code}):\n{output}")
    report = Report.from_json(out / "report.json")
    real_table, synthetic_table = read_table(real), read_table(synthetic)
    known = Schema.from_json(schema.read_text())
    values = score_table.score_rows(report, False, real_table, synthetic_table, known, category_gap=True)
    references = score_table.score_rows(report, True, real_table, real_table, known, category_gap=False)
    gap_at = score_table.largest_share_gap(real_table, synthetic_table, known)[1]
    return [f"  {name}: {score_table.cell(value)} / {score_table.cell(references.get(name, (None,))[0])}"
            + (f" (at {gap_at})" if name == score_table.CATEGORY_GAP else "")
            for name, (value, _) in values.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--budget", type=float, default=60.0, help="training seconds per size (default 60)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--longest", type=int, default=None, help="cut every patient at this many months")
    parser.add_argument("--preset", default="auto")
    parser.add_argument("--quality", action="store_true", help="also score the synthetic table (evaluate --run)")
    parser.add_argument("--work", type=Path, default=None, help="folder for the tables and runs (default: a temp one)")
    parser.add_argument("--train-flag", action="append", default=[], metavar="FLAG",
                        help="one more argument for `train` (repeat it), e.g. --train-flag=--no-steady-labels")
    parser.add_argument("--cohort", choices=sorted(COHORTS), default="long-tailed",
                        help="long-tailed (1 to 250 months) or built-in (the dashboard's, 60 months each)")
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="hgym-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"{args.cohort} cohort, preset {args.preset}, budget {args.budget:g} s, {args.threads} threads; work in {work}")
    print("patients | rows | median / p99 / longest rows | steps | steps/s | train wall | train peak | sample peak"
          + (" | synthetic median / p99 rows, then scores (value / reference)" if args.quality else ""))
    for patients in args.patients:
        folder = work / (f"{args.cohort}-n{patients}" + ("" if args.longest is None else f"-L{args.longest}"))
        folder.mkdir(parents=True, exist_ok=True)
        data, schema, shape = write_cohort(args.cohort, patients, args.longest, folder)
        trained = train(data, schema, folder / "run", args)
        synthetic = folder / "synthetic.csv.gz"
        sampled = sample(folder / "run", patients, synthetic, args.threads)
        line = (f"{patients:,} | {shape['rows']:,} | {shape['median']:g} / {shape['p99']:g} / {shape['longest']} | "
                f"{trained['steps']:,} | {trained['steps_per_s']:.2f} | {trained['wall']:.0f} s | "
                f"{mb(trained['train_peak'])} | {mb(sampled['sample_peak'])}")
        if args.quality:
            line += f" | {sampled['syn_median']:g} / {sampled['syn_p99']:g}\n" + "\n".join(
                quality(folder / "run", data, schema, synthetic, folder))
        print(line, flush=True)


if __name__ == "__main__":
    main()
