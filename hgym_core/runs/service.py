"""Start, resume, extend, stop and delete runs: the one path of the command line and the Train page.

Both faces call these functions, so they check the same things in the same words before a job
starts: the settings, "already holds a run", "already trained N epochs", a run another process
trains (its lock), the data (the recorded source when none is given) and, on the built-in cohort,
its published schema.

    job = start_run("models/hiv-1", config, demo_source(8916, 0))       # the command line: a thread
    job = start_run(folder, config, source, table, schema, registry=registry, in_child=True)   # the dashboard
    job = continue_run("models/hiv-1")                  # resume a stopped run from its checkpoint
    job = extend_run("models/hiv-1", more_epochs=10)    # train a finished run further

Each returns the started ``TrainingJob``; ``note`` (e.g. ``print``) hears which data and how many
patients it trains on.
"""

from __future__ import annotations

import os
from functools import partial
from typing import Callable

import pandas as pd

from hgym_core.data.public_encoder import check_public_schema
from hgym_core.data.schema import Schema
from hgym_core.data.validation import check
from hgym_core.errors import HGymError
from hgym_core.gan.config import DataSize, TrainConfig
from hgym_core.gan.events import METRIC_COLUMNS
from hgym_core.runs import listing
from hgym_core.runs.folder import RunFolder
from hgym_core.runs.info import PatientCounts, RunInfo
from hgym_core.runs.jobs import JobRegistry, TrainFunction, TrainingJob
from hgym_core.runs.lock import holder, refuse_if_busy
from hgym_core.runs.patients import PatientSplit, planned_counts
from hgym_core.runs.schedule import TrainingSchedule
from hgym_core.runs.sources import describe_table, schema_for, table_from_source
from hgym_core.runs.tasks import fit_run, resume_run
from hgym_core.runs.training_process import in_subprocess
from hgym_core.synthesizer import refuse_existing, resume_config

Note = Callable[[str], None]
Folder = str | os.PathLike | RunFolder


def _folder(folder: Folder) -> RunFolder:
    return folder if isinstance(folder, RunFolder) else RunFolder(folder)


def start_run(folder: Folder, config: TrainConfig, source: dict, table: pd.DataFrame | None = None,
              schema: Schema | None = None, *, registry: JobRegistry | None = None, in_child: bool = False,
              note: Note = lambda text: None) -> TrainingJob:
    """Train a new run of ``config`` into ``folder`` on ``table``, the table ``source`` describes
    (read from it when not given). ``schema`` defaults to the source's: the published one for the
    built-in cohort, else inferred. ``registry`` (the dashboard's) runs it as that registry's one
    job; ``in_child`` trains in a child process."""
    folder = _folder(folder)
    config = config.validate()
    refuse_if_busy(folder)
    refuse_existing(folder)   # both before the table is read: the built-in cohort takes seconds to make
    if table is None:
        table = table_from_source(source)
    schema = schema or schema_for(source, table)
    counts, schedule = plan(table, schema, config)   # a problem with the data stops here, before any job or file
    note(f"using the {describe_table(source)}; training on {counts.describe()}")
    task = partial(fit_run, schema, config, table, folder.path, source)
    return _launch(folder, task, registry, in_child, schedule)


def plan(table: pd.DataFrame, schema: Schema, config: TrainConfig) -> tuple[PatientCounts, TrainingSchedule]:
    """How many patients a new run of ``config`` on ``table`` trains on and keeps out, and its steps
    (the same split ``Synthesizer.fit`` makes). HGymError listing every problem of the table, or
    naming a curriculum longer than the training patients."""
    counts, longest = training_side(table, schema, config)
    if config.dp_epsilon is not None:   # the public bounds differential privacy needs, before any job starts
        check_public_schema(schema, config)
    elif config.curriculum and max(config.curriculum) > longest:   # under DP: a public bound, patients may be shorter
        raise HGymError(f"Setting 'curriculum' asks for length {max(config.curriculum)}, but the longest patient "
                        f"trained on has {longest} time steps; use lengths up to {longest}, or leave the "
                        "curriculum empty for the automatic one.")
    return counts, TrainingSchedule.plan(config, counts.trained, longest)


def training_side(table: pd.DataFrame, schema: Schema, config: TrainConfig) -> tuple[PatientCounts, int]:
    """The patients a run of ``config`` trains on and keeps out, and the most time steps a patient of
    the training side has (the longest curriculum length it can train)."""
    return _training_side(check(table, schema), schema, config)


def data_size(table: pd.DataFrame, schema: Schema, config: TrainConfig | None = None) -> DataSize:
    """What a preset fits itself to (``gan.config.preset``), for a run of ``config``'s holdout and
    seed (the defaults when None): the patients it trains on, the longest of them, and whether the
    table has anything once per patient (a static variable, lengths or first times that vary)."""
    checked = check(table, schema)
    counts, longest = _training_side(checked, schema, config or TrainConfig())
    patients = checked.groupby(schema.id_column, sort=False)
    static = (any(v.static and (v.kind == "numeric" or len(v.categories) > 1 or checked[v.name].isna().any())
                  for v in schema.variables)
              or patients.size().nunique() > 1
              or (schema.time_mode == "irregular" and patients[schema.time_column].first().nunique() > 1))
    return DataSize(counts.trained, longest, bool(static))


def _training_side(checked: pd.DataFrame, schema: Schema, config: TrainConfig) -> tuple[PatientCounts, int]:
    rows_per_patient = checked.groupby(schema.id_column, sort=False).size()
    split = PatientSplit.of(rows_per_patient.index, config.holdout, config.seed)
    return planned_counts(len(rows_per_patient), config), int(rows_per_patient.loc[split.train].max())


def continue_run(folder: Folder, epochs: int | None = None, settings: dict | None = None,
                 table: pd.DataFrame | None = None, *, registry: JobRegistry | None = None, in_child: bool = False,
                 note: Note = lambda text: None) -> TrainingJob:
    """Resume the run in ``folder`` from its last checkpoint; ``epochs`` (the new total) extends a
    finished run. ``settings`` may change only what a resume may (device, cpu_threads,
    checkpoint_every). ``table`` defaults to the data the run records."""
    folder = _folder(folder)
    refuse_if_busy(folder)
    info = RunInfo.read(folder)
    settings = dict(settings or {})
    config = resume_config(folder, info, info.train_config().replace(**settings), epochs)
    if not folder.has_checkpoint():
        raise HGymError(f"Run '{folder.name}' has no checkpoint.pt: it ended before its first checkpoint, so "
                        "there is nothing to resume; start a new run.")
    source = info.data.source if info.data else None
    if table is None:
        table = table_from_source(source, folder.name)
        note(f"using the run's {describe_table(source)}")
    counts = info.trained_patients()
    if counts is not None:
        note(f"training on {counts.describe()}")
    schedule = TrainingSchedule.plan(config, counts.trained, info.encoder["max_length"]) \
        if counts is not None and info.encoder else None
    task = partial(resume_run, folder.path, table, epochs, settings)
    return _launch(folder, task, registry, in_child, schedule, earlier_curves(folder, info.checkpoint_step or 0))


def extend_run(folder: Folder, more_epochs: int, **options) -> TrainingJob:
    """Train a finished (or stopped) run for ``more_epochs`` epochs beyond those it has done."""
    if not isinstance(more_epochs, int) or more_epochs < 1:
        raise HGymError(f"More epochs must be a whole number of at least 1 (got {more_epochs!r}).")
    return continue_run(folder, epochs=RunInfo.read(_folder(folder)).epochs_done + more_epochs, **options)


def stop_run(folder: Folder, registry: JobRegistry) -> TrainingJob:
    """Ask the job training ``folder`` to stop (it saves a checkpoint after the current step).
    HGymError when no job of this process trains it, naming the process that does, if any."""
    folder = _folder(folder)
    job = registry.get(folder.path)
    if job is not None and job.is_active():
        job.stop()
        return job
    found = holder(folder)
    where = f"it is trained by {found.describe()}: stop it there" if found else "it is not training"
    raise HGymError(f"Run '{folder.name}' cannot be stopped from here: {where}.")


def delete_run(folder: Folder, registry: JobRegistry | None = None) -> None:
    """Delete the run folder (refused while any process trains it) and forget its ended job."""
    folder = _folder(folder)
    listing.delete_run(folder)
    if registry is not None:
        registry.forget(folder.path)


def earlier_curves(folder: RunFolder, step: int) -> dict[str, list]:
    """The run's metrics up to ``step`` (its checkpoint), so a resumed job's curves show the whole run."""
    metrics = folder.read_metrics()
    if metrics.empty:
        return {}
    metrics = metrics[metrics["step"] <= step]
    return {column: metrics[column].tolist() for column in METRIC_COLUMNS if column in metrics}


def _launch(folder: RunFolder, task: TrainFunction, registry: JobRegistry | None, in_child: bool,
            schedule: TrainingSchedule | None, history: dict | None = None) -> TrainingJob:
    train = in_subprocess(task) if in_child else task
    if registry is not None:
        return registry.start(folder.name, train, history, schedule=schedule, folder=folder.path)
    return TrainingJob(folder.name, train, history, schedule=schedule, folder=folder.path).start()
