"""Where a run's table came from, as run.json records it, and that table back.

A source is a small dict in run.json's ``data.source``:

    {"kind": "demo", "n_patients": 8916, "seed": 0}             the built-in simulated cohort
    {"kind": "file", "path": "/abs/hiv.csv"}                     a table file (command line)
    {"kind": "upload", "path": "data/uploads/x.parquet", "name": "x.csv"}   a dashboard upload, as kept

Resuming, extending, comparing and evaluating a run all read its table back through
``table_from_source``, and a new run on the built-in cohort always gets ``hiv_schema``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd

from hgym_core.errors import HGymError

Simulate = Callable[[int, int], pd.DataFrame]   # (n_patients, seed) -> the built-in cohort


def demo_source(n_patients: int, seed: int) -> dict:
    return {"kind": "demo", "n_patients": int(n_patients), "seed": int(seed)}


def file_source(path: str | Path) -> dict:
    return {"kind": "file", "path": str(Path(path).resolve())}


def describe_source(source: dict | None) -> str:
    """'built-in demo cohort (simulated)', the file's name, the upload's name, or 'a table'."""
    source = source or {}
    kind = source.get("kind")
    if kind == "demo":
        return "built-in demo cohort (simulated)"
    if kind == "file":
        return Path(source.get("path", "a file")).name
    if kind == "upload":
        return source.get("name", "an upload")
    return "a table"


def describe_table(source: dict | None) -> str:
    """The source in a sentence's words: 'built-in demo cohort (8,916 simulated patients, seed 0)',
    'data file /abs/hiv.csv', 'upload hiv.csv (kept as data/uploads/hiv-3f2a.parquet)'."""
    source = source or {}
    kind = source.get("kind")
    if kind == "demo":
        return f"built-in demo cohort ({source.get('n_patients', 0):,} simulated patients, seed {source.get('seed', 0)})"
    if kind == "file":
        return f"data file {source.get('path')}"
    if kind == "upload":
        return f"upload {source.get('name')} (kept as {source.get('path')})"
    return "table given"


def _simulate(n_patients: int, seed: int) -> pd.DataFrame:
    from hgym_core.data.demo import simulate_hiv_cohort

    return simulate_hiv_cohort(n_patients=n_patients, seed=seed)


def table_from_source(source: dict | None, run_name: str = "", simulate: Simulate = _simulate) -> pd.DataFrame:
    """The table ``source`` describes; ``simulate`` makes the built-in cohort (the dashboard passes
    its cached one). HGymError when the source is gone or was never recorded."""
    from hgym_core.data.demo import DEMO_PATIENTS, DEMO_SEED
    from hgym_core.data.io import read_table

    source = source or {}
    run = f"run '{run_name}'" if run_name else "the run"
    kind = source.get("kind")
    if kind == "demo":
        return simulate(int(source.get("n_patients", DEMO_PATIENTS)), int(source.get("seed", DEMO_SEED)))
    if kind in ("file", "upload"):
        path = Path(source.get("path", ""))
        if not path.is_file():
            raise HGymError(f"The data {run} was trained on ({path}) is no longer there; put "
                            f"'{source.get('name', path.name)}' back at that path, or pass that table explicitly.")
        return read_table(path)
    raise HGymError(f"{run[0].upper() + run[1:]} does not record which data it was trained on; pass the table it "
                    "was trained on explicitly (on the command line: DATA).")


def schema_for(source: dict | None, table: pd.DataFrame):
    """The schema a new run gets when none is given: the published one for the built-in cohort
    (the same for the command line, the library and the dashboard), else inferred from ``table``."""
    from hgym_core.data.demo import hiv_schema
    from hgym_core.data.schema import Schema

    return hiv_schema(table) if (source or {}).get("kind") == "demo" else Schema.infer(table)
