"""Quality on real tables: the project next to SDV PAR and gretel DGAN, one scorer for all.

For each dataset (benchmarks/quality_bench/datasets.py): a seeded 80/20 split by patient; PAR
trains first (its own default epochs) and its fit time becomes the wall-clock budget of DGAN and
then of the project (``--budget`` overrides it); each tool generates as many patients as were
trained on; ``hgym_core.evaluation.evaluate(train, synthetic, schema, holdout=holdout, seed=...)``
scores every tool, all families. One tool runs at a time, each on ``--threads`` CPU threads.
Prints one Markdown table per dataset as it completes and writes, under ``--out``:

    quality.md, quality.json                    every table; every raw score
    <dataset>/train.csv, holdout.csv            the split (what every tool is given)
    <dataset>/meta.json, schema.json            the peers' column roles; the project's schema
    <dataset>/synthetic-<tool>.csv              each tool's patients
    <dataset>/scores-<tool>.json                each tool's full report (Report.from_json reads it)
    <dataset>/<peer>.log                        each peer's command and its messages

    make peers                                  # once: the peers' own virtual environments
    .venv/bin/python benchmarks/quality.py [--datasets hiv,quinidine,...] [--peers par,dgan|none]
        [--budget SECONDS] [--threads 1] [--seed 0] [--preset health-gym] [--out DIR] [--tiny]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from quality_bench import datasets, table, tools  # noqa: E402
from quality_bench.dp_bounds import observed_bounds  # noqa: E402

from hgym_core.data.io import read_table, write_table  # noqa: E402
from hgym_core.device import apply_cpu_threads  # noqa: E402
from hgym_core.errors import HGymError  # noqa: E402
from hgym_core.evaluation import EvaluationSettings, evaluate  # noqa: E402
from hgym_core.evaluation.evaluator import DEFAULT_MAX_PATIENTS  # noqa: E402
from hgym_core.gan.config import PRESET_NAMES  # noqa: E402

# Without PAR's fit time and without --budget, DGAN and the project get this many seconds.
DEFAULT_BUDGET_SECONDS = 300.0
# --tiny: a smoke run (the test uses it): few patients, seconds of training, light scoring.
TINY_PATIENTS = 50
TINY_BUDGET_SECONDS = 3.0
TINY_PEER_EPOCHS = 2
TINY_SETTINGS = EvaluationSettings(detection_repeats=2, detection_steps=20, utility_steps=20)
RESULTS = Path(__file__).resolve().parent / "results"
REFERENCE = "reference (real vs holdout)"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(datasets.NAMES),
                        help=f"comma-separated, from {', '.join(datasets.NAMES)} (default: all)")
    parser.add_argument("--peers", default=",".join(tools.PEERS),
                        help="comma-separated peers to run (par, dgan) or 'none' (default: par,dgan)")
    parser.add_argument("--budget", type=float, default=None,
                        help="training seconds for DGAN and the project (default: PAR's fit time on that "
                             f"dataset; without PAR {DEFAULT_BUDGET_SECONDS:g} s)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for every tool (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="split, training, sampling and scoring seed")
    parser.add_argument("--preset", default=tools.PROJECT_PRESET, choices=PRESET_NAMES,
                        help=f"the project's settings (default {tools.PROJECT_PRESET}), fitted to each table and "
                             "the budget as the command line fits them")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default benchmarks/results/quality-<date>/)")
    parser.add_argument("--peers-dir", type=Path, default=Path(os.environ.get("HGYM_PEERS_DIR", tools.PEERS_DIR)),
                        help="folder with par.py, dgan.py and .venvs/ (default benchmarks/peers, or $HGYM_PEERS_DIR)")
    parser.add_argument("--reuse-peers", type=Path, default=None, metavar="DIR",
                        help="take the peers' tables and fit times from an earlier run's output folder (same "
                             "datasets, split and seed: checked) instead of training them again; for trying the "
                             "project against the same peer results")
    parser.add_argument("--dp-epsilon", type=float, default=None, metavar="E",
                        help="train the project with differential privacy at this epsilon (the command line's "
                             "--dp-epsilon; the training split's observed ranges are declared public: outside "
                             "the guarantee, said in the table's notes)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="change one of the project's settings after the preset (JSON value), e.g. "
                             "--set held_labels=false; repeat it for more (for ablations)")
    parser.add_argument("--tiny", action="store_true",
                        help=f"smoke run: at most {TINY_PATIENTS} patients per dataset, a {TINY_BUDGET_SECONDS:g} s "
                             f"budget unless --budget, PAR {TINY_PEER_EPOCHS} epochs, light scoring")
    args = parser.parse_args(argv)
    args.datasets = [name.strip() for name in args.datasets.split(",") if name.strip()]
    unknown = [name for name in args.datasets if name not in datasets.NAMES]
    if unknown or not args.datasets:
        parser.error(f"--datasets: unknown {unknown}; choose from {', '.join(datasets.NAMES)}")
    args.peers = [] if args.peers.strip() == "none" else [p.strip() for p in args.peers.split(",") if p.strip()]
    if any(p not in tools.PEERS for p in args.peers):
        parser.error(f"--peers: give some of {', '.join(tools.PEERS)}, or 'none' (got {args.peers})")
    if args.budget is not None and args.budget <= 0:
        parser.error("--budget must be a number of seconds above 0")
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    try:
        args.set = dict((name.strip(), json.loads(value)) for name, value in (item.split("=", 1) for item in args.set))
    except ValueError:
        parser.error(f"--set: give NAME=VALUE with a JSON value, e.g. held_labels=false (got {args.set})")
    if args.dp_epsilon is not None and args.dp_epsilon <= 0:
        parser.error("--dp-epsilon must be above 0 (3 is strong, 10 is weaker)")
    return args


def default_out() -> Path:
    """benchmarks/results/quality-<date>/, or -2, -3, ... when that folder holds an earlier run."""
    base = RESULTS / f"quality-{datetime.date.today().isoformat()}"
    candidate, n = base, 1
    while (candidate / "quality.md").exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_dataset(name: str, args: argparse.Namespace, out: Path, command: str) -> dict:
    """Split, train every tool, score every tool; returns the dataset's entry of quality.json
    (its "markdown" is the table with its header and footer)."""
    data = datasets.load(name, max_patients=TINY_PATIENTS if args.tiny else None, seed=args.seed)
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    train_part, holdout_part = datasets.split_patients(data.table, data.id_column, args.seed)
    # Every tool gets the same file; the project reads it back as a user would.
    write_table(train_part, folder / "train.csv")
    write_table(holdout_part, folder / "holdout.csv")
    train, holdout = read_table(folder / "train.csv"), read_table(folder / "holdout.csv")
    schema = data.schema(train)
    schema.save(folder / "schema.json")
    (folder / "meta.json").write_text(json.dumps(datasets.peer_meta(schema, train), indent=1) + "\n")
    patients = train[schema.id_column].nunique()

    runs: dict[str, tools.ToolRun] = {}
    budget, budget_source = args.budget, "--budget"
    if args.reuse_peers is not None:
        runs.update(tools.reused_peers(args.reuse_peers, name, folder, args.peers))
    elif "par" in args.peers:
        say(f"[{name}] PAR: training and sampling {patients} patients ...")
        runs["par"] = tools.run_peer("par", args.peers_dir, folder, patients, args.seed, args.threads, None,
                                     TINY_PEER_EPOCHS if args.tiny else None)
    if budget is None and "par" in runs and runs["par"].error is None:
        budget, budget_source = runs["par"].fit_seconds, "PAR's fit time"
    if budget is None:
        budget = TINY_BUDGET_SECONDS if args.tiny else DEFAULT_BUDGET_SECONDS
        budget_source = "--tiny default" if args.tiny else "default: no PAR fit time"
    if "dgan" in args.peers and args.reuse_peers is None:
        say(f"[{name}] DGAN: training for {budget:.1f} s and sampling ...")
        runs["dgan"] = tools.run_peer("dgan", args.peers_dir, folder, patients, args.seed, args.threads, budget, None)
    say(f"[{name}] project: training for {budget:.1f} s and sampling ...")
    project_schema, time_range = (schema, None) if args.dp_epsilon is None else observed_bounds(schema, train)
    try:
        config = tools.project_config(args.preset, args.seed, args.threads, train, project_schema, budget,
                                      args.dp_epsilon, time_range).replace(**args.set)
        runs["project"] = tools.run_project(train, project_schema, config, args.preset, budget, patients, args.seed,
                                            folder / "synthetic-project.csv")
    except HGymError as problem:
        runs["project"] = tools.ToolRun("project", error=str(problem))

    settings = TINY_SETTINGS if args.tiny else EvaluationSettings()
    reports, synthetic = {}, {}
    for tool, run in runs.items():
        if run.error is not None:
            say(f"[{name}] {run.label} failed: {run.error}")
            continue
        say(f"[{name}] scoring {run.label} ...")
        try:
            synthetic[tool] = read_table(run.synthetic_csv)
            reports[tool] = evaluate(train, synthetic[tool], schema, holdout=holdout, seed=args.seed,
                                     settings=settings)
        except HGymError as problem:
            run.error = f"its table could not be scored: {problem}"
            continue
        reports[tool].to_json(folder / f"scores-{tool}.json")

    rows, differing = collect_rows(reports, synthetic, train, holdout, schema, runs, name == "hiv")
    markdown = "\n\n".join([header(data, train, holdout, schema, budget, budget_source),
                            table.markdown(rows, [tools.LABELS[t] for t in ("project", *tools.PEERS)] + [REFERENCE]),
                            footer(runs, args, command),
                            notes(train, holdout, synthetic, schema, name == "hiv", differing, args.dp_epsilon)])
    return {"title": data.title, "preparation": data.preparation, "patients": {"train": patients,
            "holdout": int(holdout[schema.id_column].nunique())}, "budget_seconds": budget,
            "budget_source": budget_source, "tools": {tool: run.to_dict() for tool, run in runs.items()},
            "rows": {row: {column: value if isinstance(value, str) else {"value": value[0], "spread": value[1]}
                           for column, value in cells.items()} for row, cells in rows.items()},
            "scores": {tool: report.to_dict()["scores"] for tool, report in reports.items()},
            "markdown": markdown}



def collect_rows(reports, synthetic, train, holdout, schema, runs, category_gap) -> tuple[dict, dict]:
    """Row name -> column label -> (value, spread), or a text for a tool that failed; and the rows
    whose reference differs between the tools' reports, with its (lowest, highest) value.

    The reference column is the project's report's (else the first report's). Most references
    are the same in every report; those of the model-based scores are redrawn in each, since its
    random draws continue from the synthetic half's."""
    rows: dict[str, dict] = {}
    for tool in ("project", *tools.PEERS):
        if tool in reports:
            for row, value in table.score_rows(reports[tool], False, train, synthetic[tool], schema,
                                               category_gap).items():
                rows.setdefault(row, {})[tools.LABELS[tool]] = value
    references = {tool: table.score_rows(report, True, train, holdout, schema, category_gap)
                  for tool, report in reports.items()}
    chosen = references.get("project") or next(iter(references.values()), {})
    differing = {}
    for row, value in chosen.items():
        rows.setdefault(row, {})[REFERENCE] = value
        found = [r[row][0] for r in references.values() if r.get(row, (None,))[0] is not None]
        if found and max(found) - min(found) > 1e-9:
            differing[row] = (min(found), max(found))
    failed = {run.label: "failed" for run in runs.values() if run.error is not None}
    for cells in rows.values():
        cells.update(failed)
    rows[table.FIT] = {run.label: (run.fit_seconds, None) for run in runs.values() if run.error is None}
    rows[table.FIT].update(failed)
    return rows, differing


def header(data, train, holdout, schema, budget: float, budget_source: str) -> str:
    kinds = [v.kind for v in schema.variables]
    numeric = kinds.count("numeric")
    lines = [f"## {data.name}: {data.title}",
             f"{train[schema.id_column].nunique():,} / {holdout[schema.id_column].nunique():,} patients "
             f"(training / holdout) · {len(train):,} / {len(holdout):,} rows · "
             f"{table.rows_per_patient(data.table, data.id_column)} · {len(kinds)} variables ({numeric} numeric, "
             f"{len(kinds) - numeric} categorical or binary; {sum(v.static for v in schema.variables)} static) · "
             f"time `{schema.time_column}`: {schema.time_mode}",
             f"Training budget of DGAN and the project: {budget:.1f} s ({budget_source})."]
    if data.preparation:
        lines.append("Prepared: " + "; ".join(data.preparation) + ".")
    return "\n\n".join(lines)


def footer(runs: dict[str, tools.ToolRun], args: argparse.Namespace, command: str) -> str:
    lines = []
    for tool in ("project", *tools.PEERS):
        run = runs.get(tool)
        if run is None:
            lines.append(f"- **{tools.LABELS[tool]}**: not run (--peers)")
        elif run.error is not None:
            lines.append(f"- **{run.label}**: failed: {run.error}")
        else:
            lines.append(f"- **{run.label}** ({run.version}): fit {run.fit_seconds:.1f} s, sample "
                         f"{run.sample_seconds:.1f} s, {run.epochs:g} epoch(s), {args.threads} CPU thread(s); "
                         f"{run.settings}")
    lines.append(f"- Command: `{command}`")
    return "\n".join(lines)


def notes(train, holdout, synthetic, schema, category_gap: bool, differing: dict,
          dp_epsilon: float | None = None) -> str:
    labelled = {tools.LABELS[tool]: synthetic[tool] for tool in ("project", *tools.PEERS) if tool in synthetic}
    m = min(train[schema.id_column].nunique(), holdout[schema.id_column].nunique(), DEFAULT_MAX_PATIENTS)
    lines = ["Notes:",
             "- Every score: `hgym_core.evaluation.evaluate(train, synthetic, schema, holdout=holdout, seed)`, one "
             "scorer for all tools; reference = the same score for the training against the holdout patients "
             "(from the project's report).",
             f"- DCR share and membership inference: evaluate() compares with equally many training and holdout "
             f"patients ({m:,} each: min(training, holdout, max_patients), hgym_core/evaluation/privacy.py), so 0.5 "
             "means no memorisation.",
             "- Missing-rate similarity averages over the variables with an empty cell in the training table or "
             "the compared one: " + table.missing_variables(train, {**labelled, "reference": holdout}, schema) + "."]
    if dp_epsilon is not None:
        lines.append(f"- The project trained with differential privacy at ε = {dp_epsilon:g} (docs/privacy.md); the "
                     "numbers' ranges (and an irregular time range) came from the training split's observed values, "
                     "declared public for the benchmark: outside the guarantee for a real table.")
    if differing:
        lines.append("- References redrawn in each tool's report (their random draws follow the synthetic half's), "
                     "lowest–highest over the reports: " + "; ".join(
                         f"{row.split(' (')[0]} {table.cell(low)}–{table.cell(high)}"
                         for row, (low, high) in differing.items()) + ".")
    if category_gap:
        where = {who: table.largest_share_gap(train, other, schema)[1]
                 for who, other in {**labelled, "reference": holdout}.items()}
        lines.append("- Category-share gap: over every label variable, the categories with at least 1% of the "
                     "training table's patient-steps (empty cells left out), the largest |share real − share "
                     "compared| in percentage points; at " + "; ".join(f"{w}: {v}" for w, v in where.items()) + ".")
    return "\n".join(lines)


def write_results(out: Path, results: dict, command: str, args: argparse.Namespace) -> None:
    machine = f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    page = [f"# Quality on real tables ({datetime.date.today().isoformat()})",
            f"`{command}` · seed {args.seed} · {args.threads} CPU thread(s) per tool · {machine}"]
    page += [entry["markdown"] for entry in results.values()]
    (out / "quality.md").write_text("\n\n".join(page) + "\n", encoding="utf-8")
    raw = {"command": command, "seed": args.seed, "threads": args.threads, "tiny": args.tiny, "machine": machine,
           "datasets": {name: {k: v for k, v in entry.items() if k != "markdown"} for name, entry in results.items()}}
    (out / "quality.json").write_text(json.dumps(raw, indent=1, allow_nan=False, default=str) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    missing = [] if args.reuse_peers is not None else tools.missing_peers(args.peers_dir, args.peers)
    if missing:
        raise SystemExit("The peers run in their own virtual environments, which are not there:\n  "
                         + "\n  ".join(missing) + "\nCreate them with `make peers` (benchmarks/peers/setup.sh), or "
                         "leave them out: --peers none (or --peers par / --peers dgan).")
    apply_cpu_threads(args.threads)
    out = args.out or default_out()
    out.mkdir(parents=True, exist_ok=True)
    command = shlex.join([os.path.relpath(sys.executable), os.path.relpath(__file__),
                          *(sys.argv[1:] if argv is None else argv)])
    results = {}
    for name in args.datasets:
        started = time.perf_counter()
        results[name] = run_dataset(name, args, out, command)
        print(results[name]["markdown"] + "\n", flush=True)
        write_results(out, results, command, args)
        say(f"[{name}] done in {time.perf_counter() - started:.0f} s; tables in {out / 'quality.md'}")


if __name__ == "__main__":
    main()
