"""Long tables (one row per patient per step) as patient-wise arrays, the shape every score uses.

``tabulate`` turns the real, synthetic and holdout tables into ``Cohort`` objects that share one
``Layout``: the same variables in the same order, one category vocabulary per label column and
one number of steps T (the longest patient of any table). A cohort's ``values`` is a float array
[N, T, V]: numbers as they are, labels as codes into the layout's vocabulary, NaN for a missing
value and for every step after a patient's last one (``present`` tells the two apart).

Steps are a patient's rows in time order, so patients of different lengths line up from their
first row and shorter ones are NaN-padded at the end. With ``time_mode == "irregular"`` the time
between rows matters too, so the layout gains a derived numeric variable "<time> gap": the
time since the previous row (numbers as they are, dates in days). At a patient's first row the
gap is the time itself for numbers (time since a common origin) and 0 for dates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from hgym_core.data.schema import Schema
from hgym_core.errors import HGymError
from hgym_core.evaluation.labels import keyed_lookup, label_key

NUMERIC = "numeric"


@dataclass(frozen=True)
class Column:
    """One variable as the scores see it."""

    name: str
    kind: str                    # numeric | binary | categorical
    static: bool = False
    labels: tuple = ()           # label columns: the vocabulary, codes index into it

    @property
    def numeric(self) -> bool:
        return self.kind == NUMERIC


@dataclass(frozen=True)
class Layout:
    columns: tuple[Column, ...]
    n_steps: int

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def indices(self, numeric: bool) -> list[int]:
        return [i for i, c in enumerate(self.columns) if c.numeric == numeric]


@dataclass
class Cohort:
    layout: Layout
    values: np.ndarray           # float64 [N, T, V]
    lengths: np.ndarray          # int64 [N], rows per patient
    _rows: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_patients(self) -> int:
        return len(self.lengths)

    @property
    def present(self) -> np.ndarray:
        """bool [N, T]: the step exists for that patient."""
        return np.arange(self.layout.n_steps)[None, :] < self.lengths[:, None]

    def rows(self) -> np.ndarray:
        """float64 [R, V]: every patient-step, pooled (computed once)."""
        if self._rows is None:
            self._rows = self.values[self.present]
        return self._rows

    def take(self, index: np.ndarray) -> "Cohort":
        index = np.sort(np.asarray(index))
        return Cohort(self.layout, self.values[index], self.lengths[index])

    def sample(self, n: int | None, rng: np.random.Generator) -> "Cohort":
        """At most ``n`` patients drawn without replacement (all of them when n is None or larger)."""
        if n is None or n >= self.n_patients:
            return self
        return self.take(rng.choice(self.n_patients, size=n, replace=False))


def tabulate(tables: Mapping[str, pd.DataFrame], schema: Schema) -> dict[str, Cohort]:
    """One ``Cohort`` per named table, all on one layout (see the module docstring)."""
    prepared = {role: _prepare(df, schema, role) for role, df in tables.items()}
    columns = [Column(v.name, v.kind, v.static) for v in schema.variables]
    if schema.time_mode == "irregular":
        columns.append(Column(f"{schema.time_column} gap", NUMERIC))
    columns = [_with_vocabulary(c, schema, prepared) for c in columns]
    n_steps = max(int(p.lengths.max()) for p in prepared.values())
    layout = Layout(tuple(columns), n_steps)
    return {role: _to_cohort(p, layout, role) for role, p in prepared.items()}


@dataclass
class _Prepared:
    """A table sorted by patient and time, with each row's patient index and step."""

    frame: pd.DataFrame
    patient: np.ndarray
    step: np.ndarray
    lengths: np.ndarray
    coded: dict = field(default_factory=dict)   # label column -> (codes, uniques) from factorize


def _prepare(df: pd.DataFrame, schema: Schema, role: str) -> _Prepared:
    if not isinstance(df, pd.DataFrame):
        raise HGymError(f"The {role} data must be a table (pandas DataFrame), got {type(df).__name__}.")
    missing = [c for c in schema.columns if c not in df.columns]
    if missing:
        raise HGymError(f"The {role} table lacks column(s) {missing} that the schema names; "
                        f"its columns are {list(df.columns)}. Use the same schema for every table.")
    if len(df) == 0:
        raise HGymError(f"The {role} table has no rows; it needs one row per patient per time step.")
    if df[schema.id_column].isna().any():
        row = int(np.flatnonzero(df[schema.id_column].isna().to_numpy())[0])
        raise HGymError(f"The {role} table has an empty '{schema.id_column}' (patient id) at row {row}; "
                        "give every row its patient's id.")
    frame = df.sort_values([schema.id_column, schema.time_column], kind="stable").reset_index(drop=True)
    patient = pd.factorize(frame[schema.id_column], sort=False)[0]
    starts = np.flatnonzero(np.r_[True, patient[1:] != patient[:-1]])
    lengths = np.diff(np.r_[starts, len(frame)]).astype(np.int64)
    step = np.arange(len(frame)) - np.repeat(starts, lengths)
    prepared = _Prepared(frame, patient, step, lengths)
    for variable in schema.variables:
        if variable.kind != NUMERIC:
            prepared.coded[variable.name] = pd.factorize(frame[variable.name], use_na_sentinel=True)
    return prepared


def _with_vocabulary(column: Column, schema: Schema, prepared: Mapping[str, _Prepared]) -> Column:
    """Schema labels first (in the schema's order), then any other label seen in any table."""
    if column.numeric:
        return column
    labels = list(schema.variable(column.name).categories or [])
    known = {label_key(label) for label in labels}
    extra: dict[str, object] = {}
    for p in prepared.values():
        for label in p.coded[column.name][1]:
            key = label_key(label)
            if key not in known and key not in extra:
                extra[key] = label
    labels += [extra[key] for key in sorted(extra)]
    return replace(column, labels=tuple(labels))


def _to_cohort(p: _Prepared, layout: Layout, role: str) -> Cohort:
    values = np.full((len(p.lengths), layout.n_steps, len(layout.columns)), np.nan)
    for v, column in enumerate(layout.columns):
        values[p.patient, p.step, v] = _column_values(p, column, layout, role)
    return Cohort(layout, values, p.lengths)


def _column_values(p: _Prepared, column: Column, layout: Layout, role: str) -> np.ndarray:
    if not column.numeric:
        codes, uniques = p.coded[column.name]
        coded = keyed_lookup(uniques, [label_key(label) for label in column.labels])[codes].astype(float)
        coded[coded < 0] = np.nan     # missing (the vocabulary holds every label seen)
        return coded
    if column.name not in p.frame.columns:      # the derived "<time> gap" column
        return _gaps(p, column.name.removesuffix(" gap"), role)
    return _numbers(p.frame[column.name], column.name, role)


def _numbers(series: pd.Series, name: str, role: str) -> np.ndarray:
    converted = pd.to_numeric(series, errors="coerce")
    bad = converted.isna() & series.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise HGymError(f"Column '{name}' of the {role} table is numeric in the schema but holds "
                        f"{series.iloc[row]!r} (sorted row {row}); fix the value or make the variable "
                        "categorical in the schema.")
    return converted.to_numpy(dtype=float, na_value=np.nan)


def _gaps(p: _Prepared, time_column: str, role: str) -> np.ndarray:
    times = p.frame[time_column]
    first = p.step == 0
    if pd.api.types.is_numeric_dtype(times) and not pd.api.types.is_bool_dtype(times):
        t = times.to_numpy(dtype=float, na_value=np.nan)
        gaps = np.diff(t, prepend=0.0)
        gaps[first] = t[first]
        return gaps
    parsed = pd.to_datetime(times, errors="coerce")
    if parsed.isna().any():
        row = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise HGymError(f"Time column '{time_column}' of the {role} table holds {times.iloc[row]!r} "
                        f"(sorted row {row}), which is neither a number nor a date; fix the value.")
    days = (parsed - parsed.min()).dt.total_seconds().to_numpy() / 86400.0
    gaps = np.diff(days, prepend=0.0)
    gaps[first] = 0.0
    return gaps


@dataclass
class Cohorts:
    """The tables of one evaluation on a shared layout; ``holdout`` is real data kept out of training."""

    real: Cohort
    synthetic: Cohort
    holdout: Cohort | None = None

    @property
    def layout(self) -> Layout:
        return self.real.layout
