"""What a training job runs: start a new run, or continue one from its checkpoint.

Module-level functions, so a job can run them in a thread (the command line) or pickle them
into a child process (the dashboard, ``training_process.in_subprocess``)::

    registry.start(name, in_subprocess(partial(fit_run, schema, config, table, "models/hiv-1")))

Each takes the job's hooks (``callbacks``, ``stop_event``, ``log``) as keywords and returns the
run's final status, "finished" or "stopped".
"""

from __future__ import annotations

import os
from typing import Any, Mapping

import pandas as pd

from hgym_core.gan.config import TrainConfig
from hgym_core.data.schema import Schema
from hgym_core.gan.trainer import Hooks
from hgym_core.synthesizer import Synthesizer


def fit_run(schema: Schema, config: TrainConfig, table: pd.DataFrame, run_dir: str | os.PathLike,
            data_source: dict | None = None, **hooks: Any) -> str:
    """Train a new run of ``schema`` and ``config`` on ``table`` into ``run_dir``."""
    return Synthesizer(schema, config).fit(table, run_dir, Hooks(**hooks), data_source=data_source).status


def resume_run(run_dir: str | os.PathLike, table: pd.DataFrame, epochs: int | None = None,
               settings: Mapping[str, Any] | None = None, **hooks: Any) -> str:
    """Continue the run in ``run_dir`` on the same ``table``; ``epochs`` (the new total) extends a
    finished run, ``settings`` changes what may change on resume (device, cpu_threads, checkpoint_every)."""
    settings = dict(settings or {})
    synthesizer = Synthesizer.load(run_dir, device=settings.get("device"))
    synthesizer.config = synthesizer.config.replace(**settings)
    return synthesizer.resume(table, epochs=epochs, hooks=Hooks(**hooks)).status
