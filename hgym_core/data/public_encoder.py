"""The encoder of a differentially private run: built from public facts only, never fitted to patients.

``Encoder.fit`` reads the training patients: each numeric column's range, Box-Cox λ, precision
and median, which columns have empty cells, the longest patient, the time axis's gaps and the ids'
form. Under DP each of those would be a fact about some patient outside the guarantee, so
``public_encoder`` builds the same kind of ``Encoder`` from what the user declares public:

- the schema: variables, kinds, categories (in order), point values, held and static flags, and
  every numeric variable's ``min`` and ``max``, which DP requires the user to type (an inferred
  schema leaves them empty: the observed range would be the most extreme patients' values);
- the settings: the curriculum's longest length is the longest a patient may be (longer patients
  are cut to it) and, for irregular times, ``dp_time_range`` bounds the time axis;
- the table's format: column names and order, storage types, and a step counter's origin (in step
  mode validation makes every patient start there).

Then: numeric columns are min-max scaled over [min, max] ('minmax') or log-scaled ('log', and
'boxcox' with λ = 0, a Box-Cox member: λ itself would be fitted); every variable may be empty
(a missing class each) unless its storage type cannot be (numpy's whole numbers and true/false); lengths may vary (a presence block, and the length block for the static
head); values come back unrounded (a column's precision is read from its values) and ids as plain
numbers. ``private_table`` applies the bounds to each patient on its own (values clipped into
them, rows beyond the longest length or outside the time range dropped): a per-patient map, so
it costs no privacy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hgym_core.data.encoding import ENCODER_FORMAT, GAP, START, Encoder
from hgym_core.data.schema import Schema
from hgym_core.data.transforms import NumericTransform
from hgym_core.data.validation import check
from hgym_core.errors import HGymError

PUBLIC_WORDS = (
    "the schema: its variables, kinds, categories, point values, held and static flags, and the numeric bounds "
    "(min, max) typed in it",
    "the number of training patients (it sets the sampling rate, as in Opacus)",
    "the settings, among them the curriculum's longest length: the longest a patient may be (longer patients "
    "are cut to it)",
    "the table's format: column names and order, storage types, a step counter's first value",
)
CHANGES_WORDS = ("numbers scaled by the schema's bounds (min-max, or a log for 'log' and 'boxcox': Box-Cox's λ "
                 "would be fitted), values outside the bounds clipped to them; every variable may be empty unless stored "
                 "as whole numbers or true/false; "
                 "numbers come back unrounded; synthetic ids are plain numbers")


def check_public_schema(schema: Schema, config) -> None:
    """HGymError naming what a DP run lacks: numeric bounds, or the time range of irregular times."""
    unbounded = [v.name for v in schema.variables if v.kind == "numeric" and (v.min is None or v.max is None)]
    if unbounded:
        raise HGymError(f"Differential privacy takes every numeric variable's range from the schema, as public "
                        f"knowledge (a lab's reporting range, a dose's maximum), not from the patients: type 'min' "
                        f"and 'max' for {', '.join(repr(name) for name in unbounded)} in the schema.")
    if schema.time_mode == "irregular" and config.dp_time_range is None:
        raise HGymError(f"Differential privacy on irregular times needs the public range of '{schema.time_column}': "
                        "set 'dp_time_range' to the first and last possible time (e.g. 0 730 for two years in "
                        "days), or use a step counter (time_mode 'step').")


def public_words(schema: Schema, config) -> list[str]:
    """run.json's list of what the run treats as public."""
    words = list(PUBLIC_WORDS)
    if schema.time_mode == "irregular":
        words.append(f"the time range {tuple(config.dp_time_range)} of '{schema.time_column}' (dp_time_range)")
    return words + [f"encoding: {CHANGES_WORDS}"]


def _numeric_transform(kind: str, low: float, high: float) -> NumericTransform:
    transform = NumericTransform(kind="minmax" if kind == "minmax" else "log")
    if transform.kind == "log":
        transform.shift = float(max(0.0, -low))
    z = transform._forward_z(np.array([low, high], dtype=np.float64))
    transform.low, transform.span = float(z[0]), float(z[1] - z[0])
    return transform


def _spec(low: float, high: float, points: list, missing: bool) -> dict:
    # "fill": the code of a cell the channel does not describe (empty, or at a point value): the middle
    return {"missing": missing, "points": list(points), "bounds": [float(low), float(high)], "decimals": None,
            "fill": 0.5}


def public_encoder(schema: Schema, table: pd.DataFrame, config) -> Encoder:
    """The DP run's encoder (module docstring); reads only ``table``'s format, not its patients."""
    check_public_schema(schema, config)
    transforms, variables = {}, {}
    for variable in schema.variables:
        missing = may_be_empty(table[variable.name].dtype)
        if variable.kind == "numeric":
            transform = _numeric_transform(variable.transform, variable.min, variable.max)
            transforms[variable.name] = transform.to_dict()
            variables[variable.name] = _spec(variable.min, variable.max, variable.points, missing)
        else:
            variables[variable.name] = {"missing": missing}
    max_length = int(max(config.curriculum))
    if schema.time_mode == "irregular":
        first, last = (float(t) for t in config.dp_time_range)
        gaps = _numeric_transform("log", 0.0, last - first)
        starts = _numeric_transform("minmax", first, last)
        for name, transform, low, high in ((GAP, gaps, 0.0, last - first), (START, starts, first, last)):
            transforms[name] = transform.to_dict()
            variables[name] = _spec(low, high, [], False)
        time = {"start": first, "start_varies": True, "min_step": (last - first) * 1e-6,
                "gap_fill": float(gaps.inverse(np.array([0.5]))[0]), "decimals": None}
    else:
        time = {"start": _time_origin(table, schema), "start_varies": False, "min_step": 1, "gap_fill": 1,
                "decimals": None}
    state = {
        "format": ENCODER_FORMAT,
        "columns": [c for c in table.columns if c in set(schema.columns)],
        "dtypes": {c: str(table[c].dtype) for c in schema.columns},
        "max_length": max_length,
        "variable_lengths": True,
        "length_block": bool(config.static_head),
        "variables": variables,
        "time": time,
        "ids": {"prefix": None, "width": 0, "first": 0},
        "transforms": transforms,
    }
    return Encoder(schema, state)


def may_be_empty(dtype) -> bool:
    """Whether a column of this storage type can hold empty cells: not whole numbers or true/false
    stored as such (numpy's int and bool), any other type (decimals, text, nullable integers) can."""
    return not (isinstance(dtype, np.dtype) and dtype.kind in "iub")


def _time_origin(table: pd.DataFrame, schema: Schema):
    """A step counter's first value (0 or 1, say): validation makes every patient start there."""
    value = float(table[schema.time_column].min()) if len(table) else 0.0
    return int(value) if value.is_integer() else value


def private_table(table: pd.DataFrame, schema: Schema, config) -> pd.DataFrame:
    """``table`` checked, each patient cut to the longest length (and, for irregular times, to the
    time range) and each number clipped into the schema's bounds: one patient at a time."""
    checked = check(table, schema)
    if schema.time_mode == "irregular":
        first, last = config.dp_time_range
        times = checked[schema.time_column]
        checked = checked[(times >= first) & (times <= last)]
    checked = checked.groupby(schema.id_column, sort=False).head(int(max(config.curriculum)))
    checked = checked.copy()
    for variable in schema.variables:
        if variable.kind == "numeric":
            checked[variable.name] = checked[variable.name].clip(variable.min, variable.max)
    return checked


def encode_private(encoder: Encoder, table: pd.DataFrame, config):
    """The patients of a DP run as the networks see them (``private_table``, then ``encoder.encode``)."""
    return encoder.encode(private_table(table, encoder.schema, config))
