"""How long a run will take, before it starts: a few real training steps, timed here and now.

The probe trains the run's own models (its schema's layout, its widths, batch size, n_critic and
device) for a couple of generator steps at the shortest and the longest curriculum length, on
the table's longest patients, and times each step as the trainer does (``TrainEvent.seconds``).
The other lengths are read off those two (``StepCosts``), and the schedule adds them up:

    costs = measure_step_costs(schema, table, config, schedule.lengths)
    schedule.seconds_left(0, costs)          # the whole run, in seconds

It is an estimate: the steps that follow run on a machine whose load changes, and the probe's
few steps miss what a long run's memory and caches do. The ETA while training re-measures.
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import torch

from hgym_core.data.encoding import Encoder
from hgym_core.data.schema import Schema
from hgym_core.data.validation import check
from hgym_core.gan.config import TrainConfig
from hgym_core.gan.trainer import Hooks, Trainer
from hgym_core.runs.schedule import StepCosts

PROBE_STEPS = {"first": 2, "last": 1}   # the first step of a fresh process warms up; it is not counted


def probe_patients(rows_per_patient: pd.Series, batch_size: int, seed: int) -> set:
    """The ids of one batch drawn at random, as training draws its batches, with the longest patient
    in it so every curriculum length fits. A step is padded to its own longest patient, so a batch of
    the table's longest ones would time a step that training rarely takes on a long-tailed table."""
    order = np.random.default_rng(seed).permutation(len(rows_per_patient))[:batch_size]
    patients = set(rows_per_patient.index[order]) | {rows_per_patient.idxmax()}
    if len(patients) > batch_size:   # the longest was not drawn: it takes the last drawn one's place
        patients.discard(rows_per_patient.index[order[-1]])
    return patients


def measure_step_costs(schema: Schema, table: pd.DataFrame, config: TrainConfig, lengths: tuple[int, ...]) -> StepCosts:
    """Seconds per generator step at the shortest and the longest of ``lengths``, measured now.

    Uses this process's CPU threads as the run would (``config.cpu_threads``) and gives the
    previous setting back: the dashboard's server calls it and keeps its own threads.
    """
    checked = check(table, schema)
    sizes = checked.groupby(schema.id_column, sort=False).size()
    patients = probe_patients(sizes, config.batch_size, config.seed)
    sample = checked[checked[schema.id_column].isin(patients)]
    encoder = Encoder.fit(sample, schema, length_block=config.static_head)   # the run's own layout
    cohort = encoder.encode(sample)
    threads = torch.get_num_threads()
    measured = {}
    try:
        for length, steps in ((min(lengths), PROBE_STEPS["first"]), (max(lengths), PROBE_STEPS["last"])):
            if length in measured:
                continue
            probe = config.replace(epochs=steps, curriculum=(length,), max_patients=None, checkpoint_every=steps)
            events = []
            stop = threading.Event()

            def record(event, steps=steps):
                events.append(event)
                if len(events) == steps:
                    stop.set()

            Trainer(encoder, cohort, probe).train(Hooks(callbacks=[record], stop_event=stop))
            measured[length] = events[-1].seconds
    finally:
        torch.set_num_threads(threads)
    return StepCosts(measured)
