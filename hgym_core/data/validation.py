"""Checking a patient table against its schema: every problem at once, each with its fix.

``validate(df, schema)`` lists ``Problem``s (errors block encoding; warnings say what will happen
and how to avoid it). ``check(df, schema)`` raises one ``HGymError`` listing every error, or
returns the table ready to encode: only the schema's columns, rows grouped by patient and in
time order (rows out of order are sorted, not rejected), numbers stored as text converted.
Re-exported from ``hgym_core.data.schema``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from hgym_core.errors import HGymError

if TYPE_CHECKING:   # schema.py re-exports this module, so it is imported only for type hints
    from hgym_core.data.schema import Schema

MAX_CATEGORIES = 50
EXAMPLE_ROWS = 5
# Where ``data.io.read_table`` notes the missing markers it read as empty ({column: {marker: cells}}),
# in the frame's attrs: the time column's message names them.
READ_AS_EMPTY = "read_as_empty"
# Every patient is padded to the longest, and the LSTMs step through each row in turn: one patient
# of 40,000 rows trained at 0.06 steps/s in 2 GB. Health Gym's patients have 60.
LONG_PATIENT_ROWS = 1_000


@dataclass
class Problem:
    column: str | None        # None for problems with the whole table
    rows: list                # a few example row labels of the table as given
    message: str              # names the column, the example rows and the fix
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        return self.message


def validate(df: pd.DataFrame, schema: "Schema") -> list[Problem]:
    """Every problem of ``df`` under ``schema`` (errors first within each column's checks)."""
    return _Inspection(df, schema).problems


def check(df: pd.DataFrame, schema: "Schema") -> pd.DataFrame:
    """The cleaned table sorted by patient and time, or HGymError listing every blocking problem."""
    inspection = _Inspection(df, schema)
    errors = [p for p in inspection.problems if p.severity == "error"]
    if errors:
        listed = "\n".join(f"- {p.message}" for p in errors)
        raise HGymError(f"The table does not fit the schema ({len(errors)} problem(s)):\n{listed}")
    return inspection.table


class _Inspection:
    """Runs the checks once; keeps the sorted table so ``check`` need not sort twice."""

    def __init__(self, df: pd.DataFrame, schema: "Schema"):
        self.schema = schema
        self.problems: list[Problem] = []
        self.table = df
        self.read_as_empty = dict(getattr(df, "attrs", {}).get(READ_AS_EMPTY, {}))   # markers read as empty
        if not isinstance(df, pd.DataFrame) or len(df) == 0:
            self._add(None, [], "The table is empty. Fix: load a table with one row per patient per time step.")
            return
        present = self._columns(df)
        self.table = df[[c for c in df.columns if c in set(schema.columns)]].reset_index(drop=True)
        # Rows can be grouped by patient only when both keys are there and sound.
        grouped = schema.id_column in present and schema.time_column in present and self._keys()
        if grouped:
            self._rows_per_patient()
        for variable in schema.variables:
            if variable.name in present:
                self._variable(variable, grouped)

    def _add(self, column: str | None, rows, message: str, severity: str = "error") -> None:
        self.problems.append(Problem(column, list(rows)[:EXAMPLE_ROWS], message, severity))

    def _rows_of(self, mask) -> "Rows":
        # The table's index is its row position (set in __init__), so a row's spreadsheet number
        # is that position + 2: the header is row 1.
        positions = self.table.index[np.asarray(mask, dtype=bool)]
        return Rows([int(p) + 2 for p in positions[:EXAMPLE_ROWS]], len(positions))

    # ---- columns ------------------------------------------------------------------------
    def _columns(self, df: pd.DataFrame) -> set:
        present = set(df.columns)
        for column in self.schema.columns:
            if column not in present:
                self._add(column, [], f"Column '{column}' is in the schema but not in the table. "
                          f"Fix: add the column to the table, or remove '{column}' from the schema.")
        for column in df.columns:
            if column not in set(self.schema.columns):
                self._add(column, [], f"Column '{column}' is not in the schema and will be ignored. "
                          f"Fix: add '{column}' to the schema to generate it, or drop it from the table.", "warning")
        return present

    # ---- id and time --------------------------------------------------------------------
    def _keys(self) -> bool:
        """Checks the id and time columns; True when rows can be grouped and ordered."""
        id_column, time_column = self.schema.id_column, self.schema.time_column
        ids, times = self.table[id_column], self.table[time_column]
        ok = True
        if ids.isna().any():
            self._add(id_column, self._rows_of(ids.isna()), f"Column '{id_column}' (patient id) has empty cells "
                      f"({_listed(self._rows_of(ids.isna()))}). Fix: give every row its patient's id.")
            ok = False
        text = np.zeros(len(times), dtype=bool)
        if not pd.api.types.is_numeric_dtype(times) or pd.api.types.is_bool_dtype(times):
            numbers = pd.to_numeric(times, errors="coerce")
            text = (numbers.isna() & times.notna()).to_numpy()
            if not text.any():
                self.table = self.table.assign(**{time_column: numbers})
                times = self.table[time_column]
        values = pd.to_numeric(times, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        empty = np.isnan(values) & ~text
        if text.any() or empty.any():
            self._no_time(time_column, times, text, empty)
            ok = False
        if np.isinf(values).any():
            rows = self._rows_of(np.isinf(values))
            self._add(time_column, rows, f"Column '{time_column}' (time) holds ±inf ({_listed(rows)}). "
                      "Fix: replace them with the row's real time.")
            ok = False
        if not ok:
            return False
        self.table = _sorted(self.table, id_column, time_column)
        # Sorted, so a repeated (patient, time) pair sits in adjacent rows.
        sorted_times = self.table[time_column].to_numpy(dtype=np.float64)
        repeat = np.zeros(len(sorted_times), dtype=bool)
        repeat[1:] = (np.diff(sorted_times) == 0) & ~patient_starts(self.table[id_column])[1:]
        if repeat.any():
            duplicated = repeat.copy()
            duplicated[:-1] |= repeat[1:]
            rows = self._rows_of(duplicated)
            self._add(time_column, rows, f"Columns '{id_column}' and '{time_column}' repeat the same patient and time "
                      f"in {int(duplicated.sum())} rows ({_listed(rows)}). Fix: keep one row per patient per "
                      "time step (drop or merge the duplicates).")
            return False
        return True

    def _no_time(self, column: str, times: pd.Series, text: np.ndarray, empty: np.ndarray) -> None:
        """One problem naming every row without a time, text and empty cells alike (the first rows,
        then how many), the texts, and the missing markers read as empty."""
        rows = self._rows_of(text | empty)
        kinds = []
        if text.any():
            strays = pd.unique(times[text])
            kinds.append("text " + ", ".join(repr(value) for value in strays[:EXAMPLE_ROWS])
                         + (", …" if len(strays) > EXAMPLE_ROWS else ""))
        if empty.any():
            markers = self.read_as_empty.get(column, {})
            kinds.append(f"{int(empty.sum()):,} empty" + (
                f" ({', '.join(repr(marker) for marker in markers)} read as empty)" if markers else ""))
        self._add(column, rows, f"Column '{column}' (time) has {rows.count:,} row{'s' if rows.count > 1 else ''} "
                  f"without a time: {' and '.join(kinds)} ({_listed(rows)}). Fix: make time a number in each "
                  "row (a step counter, or days since the first visit for dates), or drop those rows.")

    def _rows_per_patient(self) -> None:
        id_column, time_column = self.schema.id_column, self.schema.time_column
        first = patient_starts(self.table[id_column])
        if first.sum() < 2:
            self._add(id_column, [], f"Column '{id_column}' holds only {int(first.sum())} patient; training needs "
                      "at least 2. Fix: load a table with more patients or choose the right id column.")
        self._long_patients(first)
        if self.schema.time_mode != "step":
            return
        times = self.table[time_column].to_numpy(dtype=np.float64)
        starts = times[first]
        broken = np.zeros(len(times), dtype=bool)
        broken[1:] = (np.diff(times) != 1) & ~first[1:]
        broken[first] = starts != starts.min()
        if broken.any():
            rows = self._rows_of(broken)
            self._add(time_column, rows, f"Column '{time_column}' is a step counter in the schema, but some patients "
                      f"skip steps or start later than {_plain(starts.min())} ({_listed(rows)}). Fix: set the "
                      "schema's time_mode to 'irregular', or fill in the missing steps.")

    def _long_patients(self, first: np.ndarray) -> None:
        starts = np.flatnonzero(first)
        lengths = np.diff(np.append(starts, len(first)))
        if not len(lengths) or lengths.max() <= LONG_PATIENT_ROWS:
            return
        id_column = self.schema.id_column
        patient = self.table[id_column].iloc[[starts[lengths.argmax()]]].tolist()[0]   # a Python value
        self._add(id_column, [], f"Patient {patient!r} has {int(lengths.max()):,} rows (median patient "
                  f"{int(np.median(lengths)):,}; {int((lengths > LONG_PATIENT_ROWS).sum()):,} patients above "
                  f"{LONG_PATIENT_ROWS:,}): every patient is padded to the longest and the networks step through "
                  "each row, so training will be slow and take much memory. Fix: resample to fewer time steps "
                  "(e.g. daily instead of hourly), split long patients into shorter windows, or drop them.",
                  "warning")

    # ---- variables ----------------------------------------------------------------------
    def _variable(self, variable, grouped: bool) -> None:
        column = self.table[variable.name]
        name = variable.name
        if column.isna().all():
            self._add(name, [], f"Column '{name}' is entirely empty. Fix: drop it from the table and the schema, "
                      "or fill it in.")
            return
        if variable.kind == "numeric":
            self._numeric(variable, column)
        else:
            self._labels(variable, column)
        if variable.static and grouped:
            self._static(variable)

    def _numeric(self, variable, column: pd.Series) -> None:
        name = variable.name
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            numbers = pd.to_numeric(column, errors="coerce")
            text = numbers.isna() & column.notna()
            if text.any():
                self._text_in_numbers(name, column, text)
                return
            self.table = self.table.assign(**{name: numbers})
        values = self.table[name].to_numpy(dtype=np.float64, na_value=np.nan)
        infinite = np.isinf(values)
        if infinite.any():
            rows = self._rows_of(infinite)
            self._add(name, rows, f"Column '{name}' holds ±inf ({_listed(rows)}). Fix: replace those cells with "
                      "a real value, or leave them empty to mark them missing.")
            return
        observed = values[~np.isnan(values)]
        if observed.min() == observed.max():
            self._constant(name, _plain(observed[0]), len(observed) < len(values))
        # Zero is fine under Box-Cox and log (Health Gym adds 1e-3 first); only negatives are shifted.
        if variable.transform in ("boxcox", "log") and observed.min() < 0:
            rows = self._rows_of(values < 0)
            self._add(name, rows, f"Column '{name}' has negative values ({_listed(rows)}) under the "
                      f"{variable.transform} transform; they will be shifted by {_plain(-observed.min())} before it. "
                      f"Fix: nothing needed, or set '{name}' transform to 'minmax' if the shift is unwanted.",
                      "warning")
        self._bounds(variable, values)

    def _bounds(self, variable, values: np.ndarray) -> None:
        """Schema bounds narrower than the data: synthetic values will stay inside them (a warning)."""
        for side, bound, outside in (("min", variable.min, values < (variable.min if variable.min is not None else 0)),
                                     ("max", variable.max, values > (variable.max if variable.max is not None else 0))):
            if bound is None or not outside.any():
                continue
            rows = self._rows_of(outside)
            self._add(variable.name, rows, f"Column '{variable.name}' has values beyond its schema {side} {_plain(bound)} "
                      f"({_listed(rows)}); synthetic values will stay within [{variable.min}, {variable.max}]. Fix: "
                      f"correct those cells, or widen or clear '{variable.name}' {side} in the schema.", "warning")

    def _constant(self, name: str, value: str, has_empty: bool) -> None:
        filled = "filled row" if has_empty else "row"
        self._add(name, [], f"Column '{name}' has the same value ({value}) in every {filled}; the synthetic data "
                  f"will hold {value} there too{', with empty cells where the model puts them' if has_empty else ''}. "
                  f"Fix: nothing needed, or drop '{name}' if it carries no information.", "warning")

    def _text_in_numbers(self, name: str, column: pd.Series, text: pd.Series) -> None:
        rows = self._rows_of(text)
        strays = pd.unique(column[text])
        shown = ", ".join(repr(value) for value in strays[:EXAMPLE_ROWS])
        shown += ", …" if len(strays) > EXAMPLE_ROWS else ""
        fix = (f"replace {shown} with a number or leave it empty" if len(strays) == 1
               else f"replace {shown} with numbers or leave those cells empty")
        self._add(name, rows, f"Column '{name}' is numeric in the schema but holds text in {int(text.sum())} "
                  f"row(s): {shown} ({_listed(rows)}). Fix: {fix}, or change the variable's kind to "
                  f"categorical if '{name}' holds labels.")

    def _labels(self, variable, column: pd.Series) -> None:
        name = variable.name
        codes = label_codes(column, variable.categories)
        # Empty cells are fine: the encoder gives the variable one more class, "missing", that the
        # model learns like any label, and decoding leaves those cells empty again.
        empty = column.isna().to_numpy()
        unknown = (codes < 0) & ~empty
        if unknown.any():
            rows = self._rows_of(unknown)
            labels = pd.unique(column[unknown])[:EXAMPLE_ROWS].tolist()
            self._add(name, rows, f"Column '{name}' has labels not in the schema: {labels} ({_listed(rows)}). "
                      f"Fix: add them to the categories of '{name}', or correct those cells.")
        if len(variable.categories) > MAX_CATEGORIES:
            self._add(name, [], f"Column '{name}' has {len(variable.categories)} categories, more than "
                      f"{MAX_CATEGORIES}. Fix: group rare labels into 'Other', or make '{name}' numeric if it is a "
                      "measurement.")
        seen = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(variable.categories)))
        if len(seen) == 1 and not unknown.any():
            self._constant(name, repr(variable.categories[seen[0]]), bool(empty.any()))

    def _static(self, variable) -> None:
        name = variable.name
        changed = changes_within_patients(self.table[name], patient_starts(self.table[self.schema.id_column]))
        if changed.any():
            rows = self._rows_of(changed)
            self._add(name, rows, f"Column '{name}' is static in the schema but changes within patients "
                      f"({_listed(rows)}); each synthetic patient will hold its majority value. Fix: correct "
                      f"those rows, or untick 'static' for '{name}'.", "warning")


def patient_starts(ids: pd.Series) -> np.ndarray:
    """True where a new patient's rows begin, in a table grouped by patient."""
    codes = pd.factorize(ids)[0]   # integer codes: fast to compare even for text ids
    first = np.ones(len(codes), dtype=bool)
    first[1:] = codes[1:] != codes[:-1]
    return first


def changes_within_patients(values: pd.Series, first: np.ndarray) -> np.ndarray:
    """True at each row whose value differs from the previous row of the same patient (empty = empty)."""
    codes = pd.factorize(values)[0]
    changed = np.zeros(len(codes), dtype=bool)
    changed[1:] = (codes[1:] != codes[:-1]) & ~first[1:]
    return changed


def label_codes(column: pd.Series, categories: list) -> np.ndarray:
    """Each cell's index in ``categories``; -1 for an empty cell or a label not listed.

    Factorising first matches the few distinct labels instead of every cell, which keeps text
    columns in pyarrow (turning 500k strings into Python objects costs seconds).
    """
    codes, uniques = pd.factorize(column)
    lookup = np.append(pd.Index(categories).get_indexer(uniques), -1)   # code -1 (empty) -> -1
    return lookup[codes]


def _sorted(table: pd.DataFrame, id_column: str, time_column: str) -> pd.DataFrame:
    """Rows by patient, then time; already-sorted tables (the usual case) are not copied."""
    ids, times = table[id_column], table[time_column].to_numpy(dtype=np.float64)
    if ids.is_monotonic_increasing and not np.any(np.diff(times)[~patient_starts(ids)[1:]] <= 0):
        return table
    return table.sort_values([id_column, time_column], kind="stable")


@dataclass(frozen=True)
class Rows:
    """Where a problem is: the first spreadsheet row numbers (header = row 1) and how many rows in all."""

    lines: list
    count: int

    def __iter__(self):
        return iter(self.lines)

    def __str__(self) -> str:
        shown = ", ".join(str(line) for line in self.lines)
        if self.count > len(self.lines):
            return f"{self.count:,} rows, e.g. spreadsheet rows {shown}"
        return f"spreadsheet row{'s' if self.count > 1 else ''} {shown}"


def _listed(rows: "Rows") -> str:
    return str(rows)


def _plain(value: float) -> str:
    return f"{value:g}"
