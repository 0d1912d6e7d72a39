"""What a longitudinal patient table holds: the id and time columns and one ``Variable`` per column.

A ``Schema`` is proposed by ``Schema.infer(df)``, edited by the user, and saved as readable JSON
next to every run. Loading checks every field and names the one that is wrong, so a hand-edited
file either loads or says exactly what to change.

Kinds: bool or two labels -> binary; text, at most ``MAX_INTEGER_LEVELS`` integer levels or at
most ``MAX_FRACTION_LEVELS`` other numbers (0 / 0.5 / 1) -> categorical; other numbers and text that
is nearly all numbers (a measurement with a stray typo, which validation then points at) -> numeric.
Empty cells do not change the kind: every kind learns where its cells are empty. Static: the value
never changes within a patient. Category order: ``infer`` keeps the order of an ordered pandas
Categorical (a Parquet dictionary saved with its order: "mild, moderate, severe"); other labels are
sorted (numbers numerically, text alphabetically, False before True), so the same table always gives
the same one-hot layout. The user's order, typed in the schema, is the one the encoder uses.

Numeric variables also carry what clinicians' columns look like (doses, rates, regimens):
- ``points``: exact values that hold a large share of the rows (an infusion rate that is exactly 0
  most of the time, a few set doses): synthetic values land on them exactly, and the rest of the
  column is continuous (a "mixed" column);
- ``held``: the value is held until changed (most rows repeat the previous one within a patient):
  synthetic patients repeat it exactly between changes;
- ``held_by``: the name of a binary column whose second label (1, True) marks the rows with a new
  value, as a "measured this month" flag does for a lab carried forward between measurements (the
  built-in cohort's ``VL (M)``): synthetic values change only in those rows, and the model needs no
  block of its own for the changes (the layout stays the published one);
- ``min`` / ``max``: bounds synthetic values never leave; empty means the observed range.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import pandas as pd

from hgym_core.errors import HGymError
from hgym_core.data.validation import Problem, changes_within_patients, check, patient_starts, validate

__all__ = ["Kind", "Transform", "TimeMode", "Variable", "Schema", "Problem", "validate", "check"]

Kind = Literal["numeric", "binary", "categorical"]
Transform = Literal["boxcox", "minmax", "log"]
TimeMode = Literal["step", "irregular"]
KINDS: tuple[str, ...] = get_args(Kind)
TRANSFORMS: tuple[str, ...] = get_args(Transform)
TIME_MODES: tuple[str, ...] = get_args(TimeMode)
NUMERIC_ONLY = ("transform", "points", "held", "min", "max", "held_by")   # fields of numeric variables only

# Integer columns with at most this many distinct values are read as category codes (e.g. a
# 1-5 severity grade); more levels look like a measurement.
MAX_INTEGER_LEVELS = 10

# A text column is read as a measurement with stray typos ("abc", "12,5" in a CD4 column) when at
# least this share of its filled cells parse as numbers and they hold more than
# MAX_INTEGER_LEVELS distinct numbers. Calling it numeric lets validation name the few bad cells
# instead of offering hundreds of labels; requiring many distinct numbers keeps label columns
# such as "1", "2", "A" (or few integer codes with a typo) categorical, as for clean integer codes.
NUMERIC_TEXT_SHARE = 0.95

# A numeric column taking at most this many distinct values that are not all whole numbers
# (a 0 / 0.5 / 1 sign) is a set of codes, not a measurement, once it has enough rows to tell.
MAX_FRACTION_LEVELS = 5
MIN_ROWS_FOR_LEVELS = 20

# Point masses: an exact value holding at least POINT_SHARE of a numeric column's filled rows, or
# EDGE_POINT_SHARE for 0 and for the column's minimum or maximum (a floor or a cap), at most
# MAX_POINTS of them, largest first. (A column of only a few values is categorical already.)
POINT_SHARE = 0.10
EDGE_POINT_SHARE = 0.05
MAX_POINTS = 5
# Held until changed: at least this share of consecutive filled rows within patients repeat the
# previous value exactly (regimens, infusion rates, carried-forward measurements).
HELD_SHARE = 0.5

# Names are compared after lower-casing and dropping spaces, underscores and dashes.
ID_NAMES = ("patientid", "patient", "id", "subject", "subjectid", "subjid", "pid", "personid",
            "participantid", "participant", "stayid", "icustayid", "hadmid", "caseid", "recordid")
TIME_NAMES = ("timestep", "time", "t", "step", "month", "months", "day", "days", "week", "weeks",
              "hour", "hours", "visit", "visitno", "visitnumber", "charttime", "timepoint", "period")


@dataclass
class Variable:
    """One column of the table (other than the id and time columns)."""

    name: str
    kind: Kind
    # Ordered labels for binary/categorical, JSON scalars equal to the table's own values.
    categories: list | None = None
    transform: Transform = "boxcox"   # numeric only; boxcox is Health Gym's
    static: bool = False              # constant within a patient (Gender, Ethnic)
    unit: str = ""                    # display only
    # Numeric only (see the module docstring): exact values with point masses, held until
    # changed, and bounds (None: the observed minimum / maximum).
    points: list[float] = field(default_factory=list)
    held: bool = False
    min: float | None = None
    max: float | None = None
    held_by: str | None = None        # numeric only: the binary flag column marking new values

    @property
    def mixed(self) -> bool:
        """A numeric column with point masses: exact values plus a continuous part."""
        return self.kind == "numeric" and bool(self.points)


@dataclass
class Schema:
    id_column: str
    time_column: str
    variables: list[Variable] = field(default_factory=list)   # in the table's column order
    # step: time is a 0..T-1 counter (any common start); irregular: time is a number (e.g. days)
    # whose gaps are encoded as a numeric channel and rebuilt on decode.
    time_mode: TimeMode = "step"

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.variables]

    @property
    def columns(self) -> list[str]:
        """Every column the table must have: id, time, then the variables."""
        return [self.id_column, self.time_column, *self.names]

    def variable(self, name: str) -> Variable:
        for variable in self.variables:
            if variable.name == name:
                return variable
        raise HGymError(f"The schema has no variable '{name}'; its variables are {self.names}.")

    # ---- JSON ---------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain data for JSON; a binary or categorical variable leaves out the numeric-only fields
        (transform, points, held, min, max), which loading fills with their defaults."""
        data = asdict(self)
        for variable in data["variables"]:
            if variable["kind"] != "numeric":
                for name in NUMERIC_ONLY:
                    del variable[name]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Schema":
        """Build from plain data, rejecting a wrong field with a message that names it."""
        _expect(isinstance(data, dict), "schema", "must be a JSON object with id_column, time_column and variables")
        # "privacy": a generated file's side-car records its run's privacy (runs/privacy_record.py); not schema
        _no_unknown(data, {"id_column", "time_column", "variables", "time_mode", "privacy"}, "schema")
        for key in ("id_column", "time_column"):
            _expect(isinstance(data.get(key), str) and data[key] != "", key, "must be a non-empty column name")
        time_mode = data.get("time_mode", "step")
        _expect(time_mode in TIME_MODES, "time_mode", f"must be one of {list(TIME_MODES)} (got {time_mode!r})")
        raw_variables = data.get("variables")
        _expect(isinstance(raw_variables, list) and raw_variables, "variables", "must be a non-empty list")
        variables = [_variable_from_dict(raw, f"variables[{i}]") for i, raw in enumerate(raw_variables)]
        schema = cls(data["id_column"], data["time_column"], variables, time_mode)
        seen: set[str] = set()
        for i, name in enumerate(schema.names):
            _expect(name not in seen, f"variables[{i}].name", f"'{name}' appears twice; give each column one entry")
            _expect(name not in (schema.id_column, schema.time_column), f"variables[{i}].name",
                    f"'{name}' is the id or time column; remove it from variables")
            seen.add(name)
        _expect(schema.id_column != schema.time_column, "time_column", "must differ from id_column")
        kinds = {v.name: v.kind for v in schema.variables}
        for i, variable in enumerate(schema.variables):
            if variable.held_by is not None:
                _expect(kinds.get(variable.held_by) == "binary", f"variables[{i}] ('{variable.name}').held_by",
                        f"must name a binary column of the schema (got {variable.held_by!r}); empty it, or name the "
                        "flag column that marks the rows with a new value")
        return schema

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "Schema":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as problem:
            raise HGymError(f"The schema is not valid JSON (line {problem.lineno}, column {problem.colno}: "
                            f"{problem.msg}); fix the file or infer a new schema.") from None
        return cls.from_dict(data)

    def save(self, path: str | os.PathLike) -> Path:
        """Write atomically, so a crash never leaves half a schema under the final name."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(self.to_json() + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Schema":
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError:
            raise HGymError(f"Schema file '{path}' could not be read; check the path.") from None
        return cls.from_json(text)

    # ---- inference ----------------------------------------------------------------------
    @classmethod
    def infer(cls, df: pd.DataFrame, id_column: str | None = None, time_column: str | None = None) -> "Schema":
        """Propose a schema: id and time columns, each variable's kind, labels and staticness."""
        if len(df.columns) < 3:
            raise HGymError(f"The table has {len(df.columns)} column(s); it needs a patient id column, "
                            "a time column and at least one variable, one row per patient per time step.")
        for given in (id_column, time_column):
            if given is not None and given not in df.columns:
                raise HGymError(f"Column '{given}' is not in the table; its columns are {list(df.columns)}.")
        id_column = id_column or _find_id_column(df, exclude=time_column)
        time_column = time_column or _find_time_column(df, id_column)
        table = df.sort_values([id_column, time_column], kind="stable")
        first = patient_starts(table[id_column])
        variables = [_infer_variable(name, table[name], first)
                     for name in df.columns if name not in (id_column, time_column)]
        return cls(id_column, time_column, variables, _infer_time_mode(table[time_column], first))


# ---- loading helpers ---------------------------------------------------------------------
def _expect(ok: bool, where: str, what: str) -> None:
    if not ok:
        raise HGymError(f"Schema field '{where}' {what}.")


def _no_unknown(data: dict, known: set[str], where: str) -> None:
    unknown = sorted(set(data) - known)
    _expect(not unknown, where, f"has unknown field(s) {unknown}; allowed fields are {sorted(known)}")


def _variable_from_dict(raw: object, where: str) -> Variable:
    _expect(isinstance(raw, dict), where, "must be an object with at least name and kind")
    _no_unknown(raw, {"name", "kind", "categories", "transform", "static", "unit", "points", "held", "min", "max",
                      "held_by"}, where)
    name, kind = raw.get("name"), raw.get("kind")
    _expect(isinstance(name, str) and name != "", f"{where}.name", "must be a non-empty column name")
    where = f"{where} ('{name}')"
    _expect(kind in KINDS, f"{where}.kind", f"must be one of {list(KINDS)} (got {kind!r})")
    transform = raw.get("transform", "boxcox")
    _expect(transform in TRANSFORMS, f"{where}.transform", f"must be one of {list(TRANSFORMS)} (got {transform!r})")
    static, unit = raw.get("static", False), raw.get("unit", "")
    _expect(isinstance(static, bool), f"{where}.static", f"must be true or false (got {static!r})")
    _expect(isinstance(unit, str), f"{where}.unit", f"must be text (got {unit!r})")
    categories = raw.get("categories")
    points, held, low, high = raw.get("points") or [], raw.get("held", False), raw.get("min"), raw.get("max")
    _expect(isinstance(held, bool), f"{where}.held", f"must be true or false (got {held!r})")
    held_by = raw.get("held_by")
    _expect(held_by is None or (isinstance(held_by, str) and held_by not in ("", name)), f"{where}.held_by",
            f"must be the name of another (binary flag) column, or empty (got {held_by!r})")
    if kind == "numeric":
        _expect(categories in (None, []), f"{where}.categories", "must be empty for a numeric variable")
        categories = None
        _expect(isinstance(points, list) and all(_is_number(p) for p in points), f"{where}.points",
                "must list numbers (the exact values that hold many rows), or be empty")
        _expect(len(set(points)) == len(points), f"{where}.points", "has a value twice; list each value once")
        for bound, value in (("min", low), ("max", high)):
            _expect(value is None or _is_number(value), f"{where}.{bound}", f"must be a number or empty (got {value!r})")
        _expect(low is None or high is None or low <= high, f"{where}.min",
                f"must not be above max (got min {low}, max {high})")
    else:
        for field_name, value in (("points", points), ("held", held), ("min", low), ("max", high),
                                  ("held_by", held_by)):
            _expect(value in (None, [], False), f"{where}.{field_name}", f"applies to numeric variables only; remove it "
                                                                   f"for the {kind} variable")
        _expect(isinstance(categories, list) and len(categories) >= 1, f"{where}.categories",
                f"must list the {kind} variable's labels in order")
        _expect(all(isinstance(c, (str, int, float, bool)) for c in categories), f"{where}.categories",
                "must hold only text, numbers or true/false")
        _expect(len(set(map(_label_key, categories))) == len(categories), f"{where}.categories",
                "has a label twice; list each label once")
        if kind == "binary":
            _expect(len(categories) == 2, f"{where}.categories",
                    f"must hold exactly 2 labels for a binary variable (got {len(categories)}); "
                    "use kind 'categorical' for more")
    return Variable(name, kind, categories, transform, static, unit, [_json_scalar(p) for p in points], held,
                    low, high, held_by)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)


def _label_key(label: object) -> tuple:
    # True == 1 in Python; keep them apart so [True, 1] counts as two labels.
    return (type(label) is bool, label)


# ---- inference helpers -------------------------------------------------------------------
def _normal(name: object) -> str:
    return re.sub(r"[\s_\-.]", "", str(name)).lower()


def _by_name(df: pd.DataFrame, names: tuple[str, ...], exclude: str | None) -> str | None:
    normal = {_normal(c): c for c in reversed(df.columns) if c != exclude}
    return next((normal[n] for n in names if n in normal), None)


def _find_id_column(df: pd.DataFrame, exclude: str | None) -> str:
    named = _by_name(df, ID_NAMES, exclude)
    if named is not None:
        return named
    # By structure: the first column whose values repeat, each value in one unbroken run of
    # rows or at least several rows per value (a patient has many rows).
    for column in df.columns:
        if column == exclude or df[column].isna().any() or pd.api.types.is_float_dtype(df[column]):
            continue
        n_unique = df[column].nunique()
        if 2 <= n_unique <= len(df) // 2:
            return column
    raise HGymError("Could not find the patient id column: name it 'PatientID' (or id, subject) "
                    "or choose it in the schema, one row per patient per time step.")


def _find_time_column(df: pd.DataFrame, id_column: str) -> str:
    named = _by_name(df, TIME_NAMES, id_column)
    if named is not None:
        return named
    # By structure: the first numeric column with no gaps and no repeats within a patient.
    for column in df.columns:
        values = df[column]
        if column == id_column or not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        if values.notna().all() and not df.duplicated([id_column, column]).any() and values.nunique() > 2:
            return column
    raise HGymError("Could not find the time column: name it 'Timestep' (or time, month, day, visit) "
                    "or choose it in the schema; it must be a number that differs between a patient's rows.")


def _infer_variable(name: str, values: pd.Series, first: np.ndarray) -> Variable:
    """Kind by the values: bool or two labels -> binary; text, few integer levels or few other
    numbers -> categorical; other numbers, and text that is nearly all numbers, -> numeric (with its
    point masses and whether it is held until changed). Empty cells never decide the kind."""
    static = _constant_within_patients(values, first)
    if pd.api.types.is_bool_dtype(values):
        return Variable(name, "binary", [False, True], static=static)
    is_number = pd.api.types.is_numeric_dtype(values)
    if not is_number and _numbers_with_stray_text(values):
        return Variable(name, "numeric", static=static)
    labels = pd.unique(values.dropna())
    if len(labels) == 2 or (len(labels) == 1 and not is_number):
        return Variable(name, "binary" if len(labels) == 2 else "categorical", _ordered_labels(values, labels),
                        static=static)
    if not is_number or _few_levels(labels, int(values.notna().sum())):
        return Variable(name, "categorical", _ordered_labels(values, labels), static=static)
    numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    points = [] if static else point_values(numbers)
    return Variable(name, "numeric", static=static, points=points,
                    held=not static and _held(numbers, first))


def _few_levels(levels: np.ndarray, filled: int) -> bool:
    """Few integer codes (a 1-4 stage), or a handful of other numbers (0 / 0.5 / 1) in a column
    long enough to tell codes from a measurement."""
    numbers = levels.astype(float)
    if len(numbers) <= MAX_INTEGER_LEVELS and np.all(np.mod(numbers, 1) == 0):
        return True
    return len(numbers) <= MAX_FRACTION_LEVELS and filled >= MIN_ROWS_FOR_LEVELS


def point_values(values: np.ndarray) -> list:
    """The exact values with point masses in a numeric column (see POINT_SHARE), largest share first."""
    filled = values[~np.isnan(values)]
    if len(filled) == 0:
        return []
    unique, counts = np.unique(filled, return_counts=True)
    shares = counts / len(filled)
    edges = (unique == 0) | (unique == filled.min()) | (unique == filled.max())
    chosen = np.flatnonzero((shares >= POINT_SHARE) | (edges & (shares >= EDGE_POINT_SHARE)))
    chosen = chosen[np.argsort(-shares[chosen], kind="stable")][:MAX_POINTS]
    return [_json_scalar(v) for v in unique[chosen]]


def _held(values: np.ndarray, first: np.ndarray) -> bool:
    """Most consecutive filled rows within patients repeat the previous value (HELD_SHARE)."""
    pairs = ~first[1:] & ~np.isnan(values[1:]) & ~np.isnan(values[:-1])
    if pairs.sum() < MIN_ROWS_FOR_LEVELS:
        return False
    return bool(np.mean(values[1:][pairs] == values[:-1][pairs]) >= HELD_SHARE)


def _numbers_with_stray_text(values: pd.Series) -> bool:
    """True for a text column that is a measurement with a few typos (see NUMERIC_TEXT_SHARE).

    Parses each distinct value once, weighted by its count: parsing every cell of a 500k-row
    label column costs far more. Parses as validation does, so the cells it flags are the rest.
    """
    counts = values.value_counts()   # distinct filled values -> cells
    numbers = pd.to_numeric(counts.index.to_series(), errors="coerce")
    parsed = numbers.notna().to_numpy()
    return (counts.to_numpy()[parsed].sum() >= NUMERIC_TEXT_SHARE * counts.sum()
            and numbers.nunique() > MAX_INTEGER_LEVELS)


def _ordered_labels(values: pd.Series, labels) -> list:
    """The labels in the column's own order when it has one (an ordered Categorical), else sorted."""
    if isinstance(values.dtype, pd.CategoricalDtype) and values.dtype.ordered:
        present = set(labels)
        return [_json_scalar(label) for label in values.dtype.categories if label in present]
    return _sorted_labels(labels)


def _sorted_labels(labels: np.ndarray) -> list:
    plain = [_json_scalar(label) for label in labels]
    try:
        return sorted(plain)
    except TypeError:   # mixed text and numbers: order as text
        return sorted(plain, key=str)


def _json_scalar(value: object) -> object:
    """A JSON-safe Python scalar equal to ``value`` (numpy scalars, integer-valued floats)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return int(value) if float(value).is_integer() else float(value)
    return str(value)


def _constant_within_patients(values: pd.Series, first: np.ndarray) -> bool:
    """True when no patient's value changes from one row to the next (needs repeated rows)."""
    if first.all():
        return False   # one row per patient: nothing to tell static from time-varying
    return not changes_within_patients(values, first).any()


def _infer_time_mode(times: pd.Series, first: np.ndarray) -> TimeMode:
    """step when every patient counts up by one from the same first time; else irregular."""
    if not pd.api.types.is_numeric_dtype(times):
        return "irregular"
    values = times.to_numpy(dtype=float, na_value=np.nan)
    steps = np.diff(values)[~first[1:]]
    firsts = values[first]
    if np.all(steps == 1) and np.all(firsts == firsts[0]):
        return "step"
    return "irregular"

