"""``python -m hgym_core train``: train (or resume) a run folder from a table or the built-in cohort.

Training runs in a background TrainingJob started by ``runs/service.py``, as in the dashboard;
this thread draws the progress (one live line on a terminal, a line every few seconds otherwise)
and turns Ctrl-C and SIGTERM (a timeout, systemd, docker stop) into a clean stop that saves a
checkpoint.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading
import typing

from hgym_core.cli._limits import add_table_limit_options
from hgym_core.cli._progress import ProgressLine
from hgym_core.gan.config import (AUTO_EPOCHS, AUTO_VALIDATION_EVERY, DEFAULT_PRESET, EARLY_STOP_PATIENCE,
                                  PRESET_NAMES, TrainConfig, describe_choice, preset, private_preset)
from hgym_core.gan.events import privacy_words
from hgym_core.errors import HGymError
from hgym_core.data.demo import DEMO_PATIENTS, DEMO_SEED
from hgym_core.runs.jobs import JobSnapshot, TrainingJob


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", help="train a Health Gym v1 WGAN-GP into a run folder (or resume one)",
        description="Train a Health Gym v1 WGAN-GP on a patient table (one row per patient per time step) "
                    "into a run folder: run.json, schema.json, checkpoint.pt, metrics.csv. Without DATA the "
                    "built-in simulated HIV cohort is used. Ctrl-C stops cleanly with a checkpoint; "
                    "--resume continues from it.")
    parser.add_argument("data", nargs="?", metavar="DATA",
                        help="table to train on (.csv, .csv.gz or .parquet); omit for the built-in demo cohort "
                             "(on --resume: omit to reuse the run's own data)")
    parser.add_argument("--out", required=True, metavar="FOLDER", help="run folder to create, e.g. models/hiv-1")
    parser.add_argument("--schema", metavar="FILE",
                        help="schema JSON (from 'python -m hgym_core schema'); omit to infer it from DATA")
    parser.add_argument("--preset", choices=PRESET_NAMES,
                        help="starting settings: 'auto' (default) = chosen from the table's size and --time-budget "
                             "(10 min unless given), with a fifth of the patients kept out for the privacy scores; "
                             "'health-gym' = the published run exactly (every patient trained on); 'quick' = a few "
                             "minutes on a laptop CPU; the flags below override single settings")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its last checkpoint; with --epochs N (the new total) "
                             "extend a finished run")
    parser.add_argument("--demo-patients", type=int, default=DEMO_PATIENTS, metavar="N",
                        help=f"size of the built-in demo cohort when DATA is omitted (default {DEMO_PATIENTS})")
    parser.add_argument("--demo-seed", type=int, default=DEMO_SEED, metavar="S",
                        help="seed of the built-in demo cohort (default 0)")
    parser.add_argument("--progress-every", type=float, default=10.0, metavar="SECONDS",
                        help="when output is not a terminal, print a progress line this often (default 10)")
    settings = parser.add_argument_group("training settings (default: the preset's value)")
    for field in dataclasses.fields(TrainConfig):
        settings.add_argument(f"--{field.name.replace('_', '-')}", dest=field.name, default=argparse.SUPPRESS,
                              help=field.metadata.get("help", ""), **_argument_kind(field.name))
    add_table_limit_options(parser)
    parser.set_defaults(func=run)


METAVARS = {int: "N", float: "X", str: "NAME"}
DURATION_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600}


def parse_duration(text: str) -> float | None:
    """'10m', '90s', '1.5h' or a number of seconds; 'none' for no budget."""
    cleaned = text.strip().lower()
    if cleaned == "none":
        return None
    number, unit = cleaned.rstrip("minsh") or cleaned, cleaned[len(cleaned.rstrip("minsh")):] or "s"
    try:
        seconds = float(number) * DURATION_UNITS[unit]
    except (ValueError, KeyError):
        raise argparse.ArgumentTypeError(f"expected a duration such as 10m, 90s or 1.5h (got {text!r})") from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"a time budget must be above 0 (got {text!r})")
    return seconds
KIND_WORDS = {int: "a whole number", float: "a number", str: "text"}


def _argument_kind(name: str) -> dict:
    """argparse type/nargs for one TrainConfig field, read off its type hint."""
    if name == "time_budget":
        return {"type": parse_duration, "metavar": "DURATION"}
    if name == "early_stop":   # `--early-stop` alone: stop at a plateau with the default patience
        return {"type": _maybe_none(int, True), "nargs": "?", "const": EARLY_STOP_PATIENCE, "metavar": "N"}
    hint = typing.get_type_hints(TrainConfig)[name]
    optional = type(None) in typing.get_args(hint)
    if optional:
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    if hint is bool:
        return {"action": argparse.BooleanOptionalAction}
    if typing.get_origin(hint) is tuple:
        item, *rest = typing.get_args(hint)
        nargs = "+" if rest == [Ellipsis] else len(typing.get_args(hint))
        return {"type": _maybe_none(item, optional), "nargs": nargs, "metavar": METAVARS[item]}
    return {"type": _maybe_none(hint, optional), "metavar": METAVARS[hint]}


def _maybe_none(kind: type, optional: bool):
    """A converter that also accepts 'none' for settings that may be empty."""
    def convert(text: str):
        if optional and text.strip().lower() == "none":
            return None
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'none or ' if optional else ''}{KIND_WORDS[kind]}, "
                                             f"got {text!r}") from None
    convert.__name__ = kind.__name__
    return convert


def _overrides(args: argparse.Namespace) -> dict:
    changes = {}
    for field in dataclasses.fields(TrainConfig):
        if hasattr(args, field.name):
            value = getattr(args, field.name)
            if isinstance(value, list):  # nargs: 'none' alone clears the setting
                value = None if value == [None] else tuple(value)
                if value is not None and None in value:
                    raise HGymError(f"--{field.name.replace('_', '-')} takes numbers, or 'none' on its own.")
            changes[field.name] = value
    return changes


def run(args: argparse.Namespace) -> int:
    # torch and friends load here, not at import: `python -m hgym_core --help` stays quick.
    from hgym_core.data.io import read_table
    from hgym_core.data.schema import Schema
    from hgym_core.runs import service
    from hgym_core.runs.sources import demo_source, file_source, schema_for, table_from_source

    changes = _overrides(args)
    if args.demo_patients < 2:
        raise HGymError(f"--demo-patients must be at least 2 (got {args.demo_patients}).")
    table = read_table(args.data) if args.data else None
    if args.resume:
        if args.schema or args.preset:
            raise HGymError("--resume uses the run's own schema and settings; drop --schema and --preset.")
        settings = {name: value for name, value in changes.items() if name != "epochs"}
        job = service.continue_run(args.out, changes.get("epochs"), settings, table, note=print)
    else:
        source = file_source(args.data) if args.data else demo_source(args.demo_patients, args.demo_seed)
        if table is None:
            table = table_from_source(source)
        schema = Schema.load(args.schema) if args.schema else schema_for(source, table)
        if changes.get("early_stop") is not None and "validation_every" not in changes:
            changes["validation_every"] = AUTO_VALIDATION_EVERY   # a plateau is judged by validation
        name = args.preset or DEFAULT_PRESET
        size = service.data_size(table, schema, TrainConfig(holdout=changes.get("holdout", TrainConfig().holdout),
                                                            seed=changes.get("seed", 0)))
        config = preset(name, size, changes.get("time_budget"))
        if changes.get("dp_epsilon") is not None:   # what DP cannot have is turned off unless asked for
            chosen, config = config, private_preset(config, changes)
            turned = [f"{name} {getattr(config, name)}" for name in dataclasses.asdict(config)
                      if name not in changes and getattr(config, name) != getattr(chosen, name)]
            if turned:
                print(f"differential privacy: {', '.join(turned)} (what reads the training patients outside its "
                      "private steps is off; epochs are the steps its noise is planned for)")
        else:
            config = config.replace(**changes)
        print(describe_choice(name, config, size))
        job = service.start_run(args.out, config, source, table, schema, note=print)
    _follow(job, args.progress_every)
    return _report(job, args.out)


def _follow(job: TrainingJob, every: float) -> None:
    """Draw progress until the job ends; the first Ctrl-C stops it cleanly, a second one quits.
    SIGTERM stops it cleanly too (a second one changes nothing: the stop is under way).

    On a terminal one line is redrawn in place; otherwise a line is printed every ``every``
    seconds and once for the final step, so logs stay short but always show where it ended.
    """
    terminated = threading.Event()   # set by the handler, acted on in the loop: job.stop() takes a lock
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: terminated.set())
    try:
        _draw(job, every, terminated)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _draw(job: TrainingJob, every: float, terminated: threading.Event) -> None:
    printed_log = 0
    with ProgressLine(every, sys.stdout) as line:
        while True:
            try:
                if terminated.is_set() and job.status == "running":
                    job.stop()
                    line.clear()
                    print("SIGTERM: stopping after the current step, with a checkpoint...", flush=True)
                ended = job.join(timeout=0.25)
                snap = job.snapshot(history_from=sys.maxsize)
                for message in snap.log[printed_log:]:
                    line.clear()
                    print(message, flush=True)
                printed_log = len(snap.log)
                if snap.last:
                    line.show(progress_line(snap), last=ended)
                if ended:
                    return
            except KeyboardInterrupt:
                if job.status == "stopping":
                    raise
                job.stop()
                line.clear()
                print("stopping after the current step (Ctrl-C again to quit at once)...", flush=True)


def progress_line(snap: JobSnapshot) -> str:
    """'epoch 2/3 | L 20 | step 45/120 | D -3.21 W 1.23 G 0.54 Corr 0.120 | 2.3 step/s | ETA 0:31'; with
    a time budget it counts the budget, not the epochs the budget never reaches:
    'epoch 2 | L 20 | step 45 | 1:10 of 10:00 budget | D … | 2.3 step/s | ETA 8:52'."""
    if not snap.last:
        return "starting (reading the table, building the model)..."
    last = snap.last
    rate = f"{snap.steps_per_second:.2f} step/s" if snap.steps_per_second else "-- step/s"
    eta = _clock(snap.eta_seconds) if snap.eta_seconds is not None else "--"
    if _counts_epochs(snap):
        where = f"epoch {snap.epoch:,}/{snap.epochs_target:,} | L {snap.length} | step {snap.step:,}/{snap.steps_target:,}"
    else:
        where = f"epoch {snap.epoch:,} | L {snap.length} | step {snap.step:,}"
    if snap.time_budget and snap.budget_left is not None:
        where += f" | {_clock(snap.time_budget - snap.budget_left)} of {_clock(snap.time_budget)} budget"
    return (f"{where} | D {last['d_loss']:.3f} W {last['w']:.3f} G {last['g_loss']:.3f} Corr {last['corr']:.3f} | "
            f"{rate} | ETA {eta}" + (f" | {privacy_words(snap.privacy)}" if snap.privacy else ""))


def _counts_epochs(snap: JobSnapshot) -> bool:
    """Whether the epochs say how far the run is: not when only auto's never-reached ceiling bounds
    them and a time budget ends the run."""
    return not snap.time_budget or snap.epochs_target < AUTO_EPOCHS


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _report(job: TrainingJob, out: str) -> int:
    snap = job.snapshot(history_from=sys.maxsize)
    if snap.status == "failed":
        raise HGymError(snap.error or "training failed")
    if _counts_epochs(snap):
        summary = (f"{snap.status}: epoch {snap.epoch:,}/{snap.epochs_target:,}, step {snap.step:,} in "
                   f"{_clock(snap.elapsed_seconds)}")
    else:   # the budget, not the epochs it never reaches, says how far it went
        summary = f"{snap.status}: epoch {snap.epoch:,}, step {snap.step:,} in {_clock(snap.elapsed_seconds)}"
    if snap.ended_by:
        summary += f", ended by {snap.ended_by}"
    if snap.last:
        summary += f" (W {snap.last['w']:.3f}, Corr {snap.last['corr']:.3f})"
    print(f"{summary}; run saved in {out}")
    if snap.privacy:
        print(f"privacy: {privacy_words(snap.privacy)} (run.json's \"privacy\" says what was kept and why)")
    if snap.status == "stopped":
        print(f"continue with: python -m hgym_core train --out {out} --resume")
    return 0
