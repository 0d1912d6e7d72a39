"""``evaluate``: every score of METRICS.md for a synthetic table against the real one.

    report = evaluate(real, synthetic, schema, holdout=None, seed=0)
    report.summary()          # group, score, variable, value, reference, verdict
    evaluate(..., progress=lambda stage, fraction: print(f"{fraction:.0%} {stage}"))

``real`` is the data the generator was trained on; ``holdout`` (optional) is real data it never
saw. With a holdout every score also gets its reference: the same score for real vs holdout,
what a perfect generator could at best reach. Privacy's distance scores need the holdout.

Reproducible: each family draws from its own NumPy/torch generators seeded from ``seed`` (and
its position in GROUPS), so the same call gives the same report and no global RNG is touched.

Progress: ``progress(description, fraction)``, when given, is called in the calling thread as each
stage and each model-training step starts ("detection: sequence classifier 2 of 3 (synthetic)",
0.41), fractions never going down, and finally with ("done", 1.0); see ``progress.py``. It does not
change the report.

Speed: the GRUs of detection and utility run many tiny operations per time step and use
torch's process-wide thread setting, which this function leaves alone. On a CPU that other work
keeps busy (a training job, other processes), two contending threads spin and run these models
several times slower than one: call ``hgym_core.device.apply_cpu_threads(1)`` first there
(measured in benchmarks/evaluation.py).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from hgym_core.errors import HGymError
from hgym_core.evaluation import detection, marginals, privacy, relationships, temporal, utility
from hgym_core.evaluation._tables import Cohorts, tabulate
from hgym_core.evaluation.progress import Progress, Stages
from hgym_core.evaluation.report import Report, Score
from hgym_core.evaluation.settings import GROUPS, EvaluationSettings
from hgym_core.data.schema import Schema

FAMILIES = {"marginals": marginals, "relationships": relationships, "temporal": temporal,
            "detection": detection, "utility": utility, "privacy": privacy}
DEFAULT_MAX_PATIENTS = 2000


def evaluate(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema, holdout: pd.DataFrame | None = None,
             seed: int = 0, max_patients: int | None = DEFAULT_MAX_PATIENTS,
             settings: EvaluationSettings | None = None, progress: Progress | None = None) -> Report:
    """Score ``synthetic`` against ``real`` (long tables in ``schema``'s format); see the module docstring.

    ``max_patients`` caps the patients per table that the model- and distance-based scores use
    (detection, utility, privacy distances); None uses every patient. ``settings`` chooses the
    score families and the models' training budgets. ``progress`` follows the stages (module docstring).
    """
    settings = settings or EvaluationSettings()
    if max_patients is not None and (not isinstance(max_patients, int) or max_patients < 10):
        raise HGymError(f"Setting 'max_patients' must be a whole number >= 10 or None (got {max_patients!r}).")
    groups = [group for group in GROUPS if group in settings.groups]
    stages = Stages(progress, ["tables", *groups])
    stages.start("tables")
    started = time.perf_counter()
    tables = {"real": real, "synthetic": synthetic} | ({} if holdout is None else {"holdout": holdout})
    cohorts = Cohorts(**tabulate(tables, schema))
    seconds = {"tables": time.perf_counter() - started}
    scores, specs, details, notes = [], {}, {}, []
    for group in groups:
        began = time.perf_counter()
        rng = np.random.default_rng([seed, GROUPS.index(group)])
        # Every family takes ``progress``; the ones that take seconds (models, distances) report their steps.
        result = FAMILIES[group].measure(cohorts, settings, rng, max_patients=max_patients,
                                         progress=stages.start(group))
        seconds[group] = time.perf_counter() - began
        specs.update(result.specs)
        scores += [Score.from_measurement(result.specs[m.name], m) for m in result.measurements]
        details[group] = result.details
        notes += result.notes
    seconds["total"] = time.perf_counter() - started
    meta = {"patients": {role: c.n_patients for role, c in
                         (("real", cohorts.real), ("synthetic", cohorts.synthetic), ("holdout", cohorts.holdout))
                         if c is not None},
            "steps": cohorts.layout.n_steps, "variables": cohorts.layout.names, "seed": seed,
            "max_patients": max_patients, "settings": settings.to_dict(), "seconds": seconds}
    stages.finish()
    return Report(scores, specs, details, notes, meta)
