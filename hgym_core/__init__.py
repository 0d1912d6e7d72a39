"""Health Gym Studio core: schema, encoding, Health Gym v1 WGAN-GP training, sampling and evaluation.

    from hgym_core import Schema, Synthesizer, preset, simulate_hiv_cohort, evaluate

Nothing in this package imports Streamlit; the dashboard (app.py, pages/) and the command line
(``python -m hgym_core``) are two thin faces over the same calls. The layers, each importing
only itself and the ones above it (the full map, and its test: docs/ARCHITECTURE.md):

    data/        schema, validation, transforms, encoding, the built-in cohort, table files
    gan/         training settings (config, events), then runs/ on disk (folder, run.json, lock),
                 evaluation/ (scores), then the generator and critic, the WGAN-GP step and loop
    synthesizer  fit / sample / save / load over all of them
    runs/        training jobs, the training process and the service
    plots/       figures; reports/: report.html; cli/: the command line

The names below are imported when first used, so ``import hgym_core.errors`` (or the training
process's start) does not pay for torch and pandas until it needs them.
"""

from __future__ import annotations

import importlib

from hgym_core.errors import HGymError

_PUBLIC = {
    "Schema": "hgym_core.data.schema",
    "Variable": "hgym_core.data.schema",
    "simulate_hiv_cohort": "hgym_core.data.demo",
    "hiv_schema": "hgym_core.data.demo",
    "TrainConfig": "hgym_core.gan.config",
    "preset": "hgym_core.gan.config",
    "Synthesizer": "hgym_core.synthesizer",
    "evaluate": "hgym_core.evaluation",
}

__all__ = ["HGymError", *_PUBLIC]


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value   # later lookups skip this function
        return value
    raise AttributeError(f"module 'hgym_core' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
