"""Patient tables ⇄ float32 tensors [patients, T, F] for the WGAN-GP, in Health Gym's layout.

Feature layout (the span table the critic's soft embeddings read):
1. reals, one channel each, in [0, 1]: the numeric variables in schema order (Box-Cox/log/min-max,
   see ``transforms.py``; a mixed column's channel holds its continuous part), then, for irregular
   times, ``__gap__`` (time since the previous row) and ``__start__`` (the time of the patient's
   first row; no channel when every patient starts at the same time); the time channels can have
   point masses (a ``(mode)`` block);
2. one-hot blocks: binary and categorical variables in schema order, each with one more class,
   "missing", when the variable has empty cells; a ``<var> (mode)`` block for each mixed numeric
   (which exact point value, or "continuous", or "missing"); a 2-class ``<var> (missing)`` block for
   each other numeric with empty cells; a 2-class ``<var> (changed)`` block for each numeric held
   until changed (class 1: a new value in this row); a 2-class ``__present__`` block (class 1 = row
   present) when patients' lengths vary; with ``length_block`` and lengths that vary, a static
   ``__length__`` block of one class per length (class k: k + 1 rows) that a static head generates
   once per patient.

Spans of static variables (and ``__start__``, ``__length__``) are marked ``static``: one value per
patient, repeated at every step, so a model may generate them once.

Encoded patients are kept ragged (``EncodedCohort``): every patient's rows one after another,
[rows, F], with each patient's length, so memory follows the table's rows, not patients × the
longest patient. A batch is padded only to its own longest patient (``EncodedCohort.padded``),
by repeating the patient's last row with ``__present__`` set to "absent", so padding never adds
artificial zeros to the correlations and every block stays a valid one-hot vector (a generator's
softmax cannot produce an all-zero block). ``curriculum_batches`` groups patients of similar
length (length buckets), so a step costs about what its real rows cost.

Decoding takes exact encodings or raw generator outputs (sigmoid reals, softmax blocks): reals
are clipped into [0, 1] and inverted, blocks are read by argmax; static variables take the
patient's majority class (numeric ones the mean over the patient's rows), so each decoded
patient holds one value. Numbers come back as the table wrote them: inside their bounds, rounded
to the column's decimals, exactly on a point value when the mode says so, repeated exactly
between changes when held. Everything is vectorised over rows: no per-patient Python loops.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Iterator, Literal

import numpy as np
import pandas as pd
import pyarrow
import torch

from hgym_core.data.schema import Schema, Variable, point_values
from hgym_core.data.transforms import NumericTransform
from hgym_core.data.validation import check, label_codes, patient_starts
from hgym_core.errors import HGymError

GAP = "__gap__"
START = "__start__"
PRESENT = "__present__"
LENGTH = "__length__"
EMBED_DIM = {"real": 1, "bin": 2, "cat": 4}
ENCODER_FORMAT = 3
MAX_DECIMALS = 6
# The share of a column's values that must already be round at d decimals for d to be its precision.
ROUND_SHARE = 0.99


def missing_channel(name: str) -> str:
    return f"{name} (missing)"


def mode_channel(name: str) -> str:
    return f"{name} (mode)"


def changed_channel(name: str) -> str:
    return f"{name} (changed)"


@dataclass(frozen=True)
class Span:
    name: str                 # variable name; extra channels: "<var> (missing|mode|changed)", "__gap__", …
    kind: Literal["real", "bin", "cat"]
    n_classes: int            # 1 for real, 2 for bin, k for cat
    embed_dim: int            # critic soft-embedding size: real 1, bin 2, cat 4
    start: int
    end: int                  # [start, end) in the feature vector
    static: bool = False      # one value per patient, repeated at every step


@dataclass
class EncodedCohort:
    """Patients as ragged rows: ``rows`` [R, F] holds every patient's rows one after another (R =
    the sum of ``lengths``), in ``patient_ids`` order. ``present_channel`` is the feature index of
    ``__present__``'s "absent" class (None when every patient has the same length); ``max_length``
    the longest sequence the encoder describes (a subset's patients may all be shorter)."""

    rows: torch.Tensor        # float32 [R, F]
    lengths: torch.Tensor     # int64 [N]
    patient_ids: list         # the table's ids, in order
    present_channel: int | None = None
    max_length: int | None = None

    def __post_init__(self):
        self.starts = torch.cumsum(self.lengths, 0) - self.lengths   # first row of each patient
        if self.max_length is None:
            self.max_length = self.longest

    @property
    def n_patients(self) -> int:
        return len(self.lengths)

    @property
    def longest(self) -> int:
        return int(self.lengths.max()) if len(self.lengths) else 0

    @property
    def n_features(self) -> int:
        return self.rows.shape[1]

    def to(self, device: torch.device | str) -> "EncodedCohort":
        return EncodedCohort(self.rows.to(device), self.lengths, self.patient_ids, self.present_channel,
                             self.max_length)

    def subset(self, index: torch.Tensor) -> "EncodedCohort":
        """The patients at ``index`` (in that order), with their rows."""
        index = torch.as_tensor(index, dtype=torch.long)
        lengths = self.lengths[index]
        rows = self.rows[_row_index(self.starts[index], lengths).to(self.rows.device)]
        return EncodedCohort(rows, lengths, [self.patient_ids[i] for i in index.tolist()], self.present_channel,
                             self.max_length)

    def padded(self, index: torch.Tensor | None = None, length: int | None = None) -> torch.Tensor:
        """[B, L, F]: the first ``length`` steps (default: the longest of them) of the patients at
        ``index`` (default: all), each shorter one padded by repeating its last row with
        ``__present__`` set to "absent"."""
        index = torch.arange(self.n_patients) if index is None else torch.as_tensor(index, dtype=torch.long)
        lengths = self.lengths[index]
        length = int(lengths.max()) if length is None else int(length)
        steps = torch.arange(length)
        source = self.starts[index][:, None] + torch.minimum(steps[None, :], lengths[:, None] - 1)
        data = self.rows[source.to(self.rows.device)]
        absent = steps[None, :] >= lengths[:, None]
        if self.present_channel is not None and bool(absent.any()):
            absent = absent.to(device=data.device, dtype=data.dtype)
            data[:, :, self.present_channel] = absent
            data[:, :, self.present_channel + 1] = 1.0 - absent
        return data

    def static_rows(self, index: torch.Tensor) -> torch.Tensor:
        """[B, F]: the first row of each patient at ``index`` (static features repeat at every row)."""
        return self.rows[self.starts[torch.as_tensor(index, dtype=torch.long)].to(self.rows.device)]


def _row_index(starts: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The row numbers of patients starting at ``starts`` with ``lengths`` rows, patient after patient."""
    offsets = torch.cumsum(lengths, 0) - lengths
    within = torch.arange(int(lengths.sum())) - torch.repeat_interleave(offsets, lengths)
    return torch.repeat_interleave(starts, lengths) + within


@dataclass
class _Rows:
    """A checked table's row structure: rows grouped by patient, in time order."""

    table: pd.DataFrame
    first: np.ndarray         # True at each patient's first row
    starts: np.ndarray        # first row of each patient
    lengths: np.ndarray       # rows per patient
    patient: np.ndarray       # patient index of each row
    position: np.ndarray      # 0-based step within the patient

    @classmethod
    def of(cls, table: pd.DataFrame, id_column: str) -> "_Rows":
        first = patient_starts(table[id_column])
        return cls.from_first(table, first)

    @classmethod
    def from_lengths(cls, lengths: np.ndarray) -> "_Rows":
        first = np.zeros(int(lengths.sum()), dtype=bool)
        first[np.cumsum(lengths) - lengths] = True
        return cls.from_first(None, first)

    @classmethod
    def from_first(cls, table: pd.DataFrame | None, first: np.ndarray) -> "_Rows":
        starts = np.flatnonzero(first)
        lengths = np.diff(np.append(starts, len(first)))
        patient = np.cumsum(first) - 1
        return cls(table, first, starts, lengths, patient, np.arange(len(first)) - starts[patient])


class Encoder:
    """Fitted per-variable parameters plus the span layout; JSON-safe through to_dict/from_dict."""

    def __init__(self, schema: Schema, state: dict):
        if state.get("format") != ENCODER_FORMAT:
            raise HGymError(f"The saved encoder has format {state.get('format', 1)!r}; this version reads format "
                            f"{ENCODER_FORMAT}. The run was trained by an earlier version: train a new run.")
        self.schema = schema
        self.state = state
        self.transforms = {name: NumericTransform.from_dict(p) for name, p in state["transforms"].items()}
        self.max_length: int = state["max_length"]
        self.spans: list[Span] = _layout(schema, state)
        self.n_features: int = self.spans[-1].end if self.spans else 0
        self._span = {span.name: span for span in self.spans}

    def _time_channels(self) -> list[Variable]:
        """``__gap__`` and ``__start__`` as the numeric variables the encoder treats them as."""
        return _time_channels(self.schema, self.state)

    @property
    def static_spans(self) -> list[Span]:
        return [span for span in self.spans if span.static]

    # ---- fit ----------------------------------------------------------------------------
    @classmethod
    def fit(cls, df: pd.DataFrame, schema: Schema, length_block: bool = False) -> "Encoder":
        """Fit on ``df``; ``length_block`` adds the static ``__length__`` block (for a model that
        generates each patient's length once) when lengths vary."""
        table = check(df, schema)
        rows = _Rows.of(table, schema.id_column)
        transforms: dict[str, dict] = {}
        variables: dict[str, dict] = {}
        for variable in schema.variables:
            column = table[variable.name]
            if variable.kind == "numeric":
                variables[variable.name], transform = _fit_numeric(variable, column)
                transforms[variable.name] = transform.to_dict()
            else:
                variables[variable.name] = {"missing": bool(column.isna().any())}
        time_state = _fit_time(table[schema.time_column], rows)
        if schema.time_mode == "irregular":
            # The time axis as numeric channels of its own, fitted like any numeric column (point
            # masses included: visits every 12 hours are exactly 12 apart).
            times = table[schema.time_column].to_numpy(dtype=np.float64)
            channels = {GAP: (_later_gaps(table[schema.time_column], rows), "boxcox")}
            if time_state["start_varies"]:
                channels[START] = (times[rows.starts], "minmax")
            for name, (values, kind) in channels.items():
                kind = kind if len(values) and values.min() > 0 else "minmax"
                channel = Variable(name, "numeric", transform=kind, points=point_values(values))
                variables[name], transform = _fit_numeric(channel, pd.Series(values))
                transforms[name] = transform.to_dict()
        state = {
            "format": ENCODER_FORMAT,
            "columns": [c for c in df.columns if c in set(schema.columns)],
            "dtypes": {c: str(table[c].dtype) for c in schema.columns},   # numbers given as text are numbers now
            "max_length": int(rows.lengths.max()),
            "variable_lengths": bool(rows.lengths.min() != rows.lengths.max()),
            "length_block": bool(length_block and rows.lengths.min() != rows.lengths.max()),
            "variables": variables,
            "time": time_state,
            "ids": _fit_ids(table[schema.id_column].to_numpy()[rows.starts]),
            "transforms": transforms,
        }
        return cls(schema, state)

    # ---- encode -------------------------------------------------------------------------
    def encode(self, df: pd.DataFrame, dtype: torch.dtype = torch.float32) -> EncodedCohort:
        """float32 is what the WGAN-GP trains on; float64 makes the round trip lossless to 1e-6
        relative even where Box-Cox with λ < 0 compresses a long tail (VL) into few float32 steps."""
        if dtype not in (torch.float32, torch.float64):
            raise HGymError(f"Encoding dtype must be torch.float32 or torch.float64 (got {dtype}).")
        table = check(df, self.schema)
        rows = _Rows.of(table, self.schema.id_column)
        self._check_lengths(rows)
        features = np.zeros((len(table), self.n_features), dtype=np.float32 if dtype == torch.float32 else np.float64)
        for variable in self.schema.variables:
            column = table[variable.name]
            if variable.kind == "numeric":
                self._encode_numeric(features, variable, column.to_numpy(dtype=np.float64, na_value=np.nan), rows)
            elif variable.name in self._span:
                self._encode_labels(features, variable, column)
        if GAP in self._span:
            times = table[self.schema.time_column].to_numpy(dtype=np.float64)
            gaps = np.diff(times, prepend=times[0])
            gaps[rows.first] = self.state["time"]["gap_fill"]   # a first row has no gap: a typical one
            time_values = {GAP: gaps, START: times[rows.starts][rows.patient]}
            for channel in self._time_channels():
                self._encode_numeric(features, channel, time_values[channel.name], rows)
        if PRESENT in self._span:
            features[:, self._span[PRESENT].start + 1] = 1.0   # every encoded row is present
        if LENGTH in self._span:
            features[np.arange(len(features)), self._span[LENGTH].start + rows.lengths[rows.patient] - 1] = 1.0
        ids = table[self.schema.id_column].to_numpy()[rows.starts].tolist()
        present = self._span[PRESENT].start if PRESENT in self._span else None
        return EncodedCohort(torch.from_numpy(features), torch.from_numpy(rows.lengths.astype(np.int64)), ids, present,
                             self.max_length)

    def _encode_numeric(self, features: np.ndarray, variable: Variable, values: np.ndarray, rows: _Rows) -> None:
        spec, name = self.state["variables"][variable.name], variable.name
        empty = np.isnan(values)
        if empty.any() and not spec["missing"]:
            raise HGymError(f"Column '{name}' has empty cells, but the encoder was fitted on a table where it had "
                            "none; fit the encoder on this table (or one like it).")
        codes = self.transforms[name].forward(values)
        if spec["points"]:
            mode = _mode_codes(values, spec["points"])
            codes[mode != len(spec["points"])] = spec["fill"]   # points and gaps: the channel is unused
            _one_hot(features, self._span[mode_channel(name)], mode)
        elif spec["missing"]:
            codes[empty] = spec["fill"]   # the median code keeps filled cells mid-distribution
            _one_hot(features, self._span[missing_channel(name)], empty.astype(np.int64))
        features[:, self._span[name].start] = codes
        if changed_channel(name) in self._span:
            _one_hot(features, self._span[changed_channel(name)], _changes(values, rows.first).astype(np.int64))

    def _encode_labels(self, features: np.ndarray, variable: Variable, column: pd.Series) -> None:
        codes = label_codes(column, variable.categories)
        if self.state["variables"][variable.name]["missing"]:
            codes = np.where(column.isna().to_numpy(), len(variable.categories), codes)
        _one_hot(features, self._span[variable.name], codes)

    def _check_lengths(self, rows: _Rows) -> None:
        longest = int(rows.lengths.max())
        if longest > self.max_length:
            patient = rows.table[self.schema.id_column].iloc[rows.starts[int(rows.lengths.argmax())]]
            raise HGymError(f"Patient {patient!r} has {longest} rows but the encoder was fitted on patients of at "
                            f"most {self.max_length}; fit the encoder on this table or shorten that patient.")
        if PRESENT not in self._span and rows.lengths.min() < self.max_length:
            raise HGymError(f"Patients have fewer than {self.max_length} rows here, but the encoder was fitted on "
                            "patients of equal length; fit the encoder on this table so it learns row presence.")

    # ---- decode -------------------------------------------------------------------------
    def decode(self, data, lengths=None, first_id: int = 0) -> pd.DataFrame:
        """Tensor/ndarray [N, T, F] -> a table in the fitted table's own columns, order and dtypes.

        Patients are numbered from ``first_id`` in the form of the fitted table's ids (numbers, or
        text such as ``P001`` with the same prefix and width)."""
        array = data.detach().cpu().numpy() if isinstance(data, torch.Tensor) else np.asarray(data)
        if array.ndim != 3 or array.shape[2] != self.n_features:
            raise HGymError(f"Cannot decode an array of shape {tuple(array.shape)}: expected "
                            f"[patients, steps, {self.n_features}] features from this encoder.")
        n_patients, length, _ = array.shape
        lengths = self._decode_lengths(array, lengths)
        rows = _Rows.from_lengths(lengths)
        flat = array.reshape(n_patients * length, self.n_features)
        features = flat if (lengths == length).all() else flat[rows.patient * length + rows.position]
        return self.decode_rows(features, lengths, first_id)

    def decode_rows(self, features, lengths, first_id: int = 0) -> pd.DataFrame:
        """Ragged rows [R, F] (patient after patient, ``lengths`` rows each) -> a table, as ``decode``."""
        features = features.detach().cpu().numpy() if isinstance(features, torch.Tensor) else np.asarray(features)
        lengths = lengths.detach().cpu().numpy() if isinstance(lengths, torch.Tensor) else np.asarray(lengths)
        lengths = lengths.astype(np.int64)
        if features.ndim != 2 or features.shape != (int(lengths.sum()), self.n_features):
            raise HGymError(f"Cannot decode rows of shape {tuple(features.shape)} with {int(lengths.sum())} rows in "
                            f"the lengths: expected [rows, {self.n_features}] features from this encoder.")
        rows = _Rows.from_lengths(lengths)
        decoded = _Decoded(features, rows.patient, lengths)

        dtypes, schema = self.state["dtypes"], self.schema
        columns = {schema.id_column: self._decode_ids(rows.patient + first_id),
                   schema.time_column: _numbers(self._decode_time(decoded, rows), dtypes[schema.time_column])}
        for variable in schema.variables:
            if variable.kind == "numeric":
                values = self._decode_numeric(variable, decoded, rows)
                columns[variable.name] = _numbers(values, dtypes[variable.name])
            else:
                columns[variable.name] = self._decode_labels(variable, decoded)
        return pd.DataFrame({name: columns[name] for name in self.state["columns"]})

    def _decode_numeric(self, variable: Variable, decoded: "_Decoded", rows: _Rows) -> np.ndarray:
        name, spec, static = variable.name, self.state["variables"][variable.name], variable.static
        values = self.transforms[name].inverse(decoded.real(self._span[name], static))
        values = np.clip(values, *spec["bounds"])
        if spec["decimals"] is not None:
            values = np.round(values, spec["decimals"])
        if spec["points"]:
            mode = decoded.codes(self._span[mode_channel(name)], static)
            points = np.asarray(spec["points"] + [np.nan, np.nan], dtype=np.float64)   # continuous, missing
            values = np.where(mode == len(spec["points"]), values, points[mode])
        elif spec["missing"]:
            values[decoded.codes(self._span[missing_channel(name)], static) == 1] = np.nan
        if changed_channel(name) in self._span:
            changed = decoded.codes(self._span[changed_channel(name)], static=False) == 1
            values = _hold(values, changed | rows.first)
        elif variable.held_by is not None and variable.held_by in self._span:
            # A value changes only where its flag column says a new one was taken (class 1).
            flagged = decoded.codes(self._span[variable.held_by], static=False) == 1
            values = _hold(values, flagged | rows.first)
        return values

    def _decode_labels(self, variable: Variable, decoded: "_Decoded"):
        dtype = self.state["dtypes"][variable.name]
        if variable.name not in self._span:   # a single label and no empty cell: nothing to learn
            return _labels(np.zeros(len(decoded.patient), dtype=np.int64), variable.categories, dtype)
        codes = decoded.codes(self._span[variable.name], variable.static)
        return _labels(codes, variable.categories, dtype)

    def _decode_lengths(self, array: np.ndarray, lengths) -> np.ndarray:
        n_patients, length, _ = array.shape
        if lengths is not None:
            lengths = lengths.detach().cpu().numpy() if isinstance(lengths, torch.Tensor) else np.asarray(lengths)
            if lengths.shape != (n_patients,):
                raise HGymError(f"Got {lengths.shape} lengths for {n_patients} patients; give one length per patient.")
        elif LENGTH in self._span:   # generated once per patient: the class of its first step
            span = self._span[LENGTH]
            lengths = array[:, 0, span.start:span.end].argmax(axis=1) + 1
        elif PRESENT in self._span:
            start = self._span[PRESENT].start
            absent = array[:, :, start] >= array[:, :, start + 1]
            # A patient ends at its first "absent" step; every patient keeps at least one row.
            lengths = np.where(absent.any(axis=1), absent.argmax(axis=1), length)
        else:
            lengths = np.full(n_patients, length)
        return np.clip(lengths.astype(np.int64), 1, length)

    def _decode_time(self, decoded: "_Decoded", rows: _Rows) -> np.ndarray:
        time = self.state["time"]
        if GAP not in self._span:
            return time["start"] + rows.position
        channels = {channel.name: self._decode_numeric(channel, decoded, rows) for channel in self._time_channels()}
        start = channels.get(START, np.full(len(rows.patient), float(time["start"])))
        gaps = np.maximum(channels[GAP], time["min_step"])
        gaps[rows.first] = 0.0
        totals = np.cumsum(gaps)
        times = start + totals - totals[rows.starts][rows.patient]
        return times if time["decimals"] is None else np.round(times, time["decimals"])

    def _decode_ids(self, numbers: np.ndarray):
        ids, dtype = self.state["ids"], self.state["dtypes"][self.schema.id_column]
        if ids["prefix"] is None:
            return _numbers(numbers, dtype)
        text = np.char.add(ids["prefix"], np.char.zfill((numbers + ids["first"]).astype(str), ids["width"]))
        return pd.Series(text).astype(pd.api.types.pandas_dtype(dtype)).array

    # ---- persistence --------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"schema": self.schema.to_dict(), **self.state}

    @classmethod
    def from_dict(cls, data: dict) -> "Encoder":
        state = dict(data)
        try:
            schema = Schema.from_dict(state.pop("schema"))
            return cls(schema, state)
        except (KeyError, TypeError) as problem:
            raise HGymError(f"The saved encoder is incomplete ({problem!s}); refit the encoder on the table.") from None


@dataclass
class _Decoded:
    """Selected rows of a [N·T, F] array with the helpers that read spans off them."""

    features: np.ndarray
    patient: np.ndarray
    lengths: np.ndarray

    def real(self, span: Span, static: bool) -> np.ndarray:
        values = np.clip(self.features[:, span.start].astype(np.float64), 0.0, 1.0)
        if static:   # the patient's mean, so one patient holds one value
            means = np.bincount(self.patient, weights=values, minlength=len(self.lengths)) / self.lengths
            values = means[self.patient]
        return values

    def codes(self, span: Span, static: bool) -> np.ndarray:
        codes = self.features[:, span.start:span.end].argmax(axis=1)
        if static:   # the patient's majority class (ties: the first class)
            k = span.n_classes
            counts = np.bincount(self.patient * k + codes, minlength=len(self.lengths) * k)
            codes = counts.reshape(-1, k).argmax(axis=1)[self.patient]
        return codes


# ---- fitting helpers ---------------------------------------------------------------------------

def _fit_numeric(variable: Variable, column: pd.Series) -> tuple[dict, NumericTransform]:
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    empty = np.isnan(values)
    observed = values[~empty]
    continuous = observed[_mode_codes(observed, variable.points) == len(variable.points)] if variable.points \
        else observed
    transform = NumericTransform.fit(continuous, variable.transform)
    # A channel with no values (the gaps of patients who all have one row) is never decoded.
    low = (observed.min() if len(observed) else 0.0) if variable.min is None else variable.min
    high = (observed.max() if len(observed) else 0.0) if variable.max is None else variable.max
    spec = {
        "missing": bool(empty.any()),
        "points": list(variable.points),
        "bounds": [float(low), float(high)],
        "decimals": decimals_of(observed),
        # the code put in a cell the real channel does not describe (empty, or at a point value)
        "fill": float(np.median(transform.forward(continuous))) if len(continuous) else 0.5,
    }
    return spec, transform


def decimals_of(values: np.ndarray) -> int | None:
    """The column's precision: the fewest decimals (0..MAX_DECIMALS) that ROUND_SHARE of its values
    already have (a lab reported to 0.1 comes back to 0.1); None when it has more."""
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return None
    tolerance = 1e-9 * np.maximum(1.0, np.abs(values))
    for decimals in range(MAX_DECIMALS + 1):
        if np.mean(np.abs(np.round(values, decimals) - values) <= tolerance) >= ROUND_SHARE:
            return decimals
    return None


def _mode_codes(values: np.ndarray, points: list) -> np.ndarray:
    """Each value's mode: the index of the point value it equals, len(points) for a value between
    them (continuous), len(points) + 1 for an empty cell."""
    points = np.asarray(points, dtype=np.float64)
    codes = np.full(len(values), len(points), dtype=np.int64)
    for index, point in enumerate(points):
        codes[np.abs(values - point) <= 1e-9 * max(1.0, abs(point))] = index
    codes[np.isnan(values)] = len(points) + 1
    return codes


def _changes(values: np.ndarray, first: np.ndarray) -> np.ndarray:
    """True where a row holds a new value: each patient's first row, and every change (an empty
    cell after a value, or a value after an empty cell, is a change; two empty cells are not)."""
    previous = np.concatenate([[np.nan], values[:-1]])
    same = (values == previous) | (np.isnan(values) & np.isnan(previous))
    return first | ~same


def _hold(values: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Each row takes the value of the latest row marked ``new`` (every patient's first row is)."""
    latest = np.maximum.accumulate(np.where(new, np.arange(len(values)), 0))
    return values[latest]


def _fit_time(times: pd.Series, rows: _Rows) -> dict:
    values = times.to_numpy(dtype=np.float64)
    firsts = values[rows.starts]
    steps = np.diff(values)[rows.position[1:] > 0]
    return {
        # step mode: the time of step 0; irregular: the time of every first row when they are all equal
        "start": _plain_number(firsts.min()),
        "start_varies": bool(firsts.min() != firsts.max()),
        "min_step": _plain_number(steps.min()) if len(steps) else 1,
        "gap_fill": _plain_number(np.median(steps)) if len(steps) else 1,
        "decimals": decimals_of(values),   # sums of gaps are rounded back to the column's precision
    }


def _later_gaps(times: pd.Series, rows: _Rows) -> np.ndarray:
    """The time from each row to the next within patients (a patient's first row has none)."""
    return np.diff(times.to_numpy(dtype=np.float64))[rows.position[1:] > 0]


def _fit_ids(ids: np.ndarray) -> dict:
    """How synthetic ids are written: numbers, or text like the table's (prefix + zero-padded number)."""
    if len(ids) == 0 or not all(isinstance(i, str) for i in ids):
        return {"prefix": None, "width": 0, "first": 0}
    parts = [re.fullmatch(r"(.*?)(\d+)", i) for i in ids]
    prefixes = {p.group(1) for p in parts if p}
    if not all(parts) or len(prefixes) != 1:
        return {"prefix": "", "width": 0, "first": 0}   # no common form: plain numbers as text
    numbers = [p.group(2) for p in parts]
    return {"prefix": prefixes.pop(), "width": min(len(n) for n in numbers), "first": min(int(n) for n in numbers)}


def _time_channels(schema: Schema, state: dict) -> list[Variable]:
    if schema.time_mode != "irregular":
        return []
    names = [GAP, START] if state["time"]["start_varies"] else [GAP]
    return [Variable(name, "numeric", transform=NumericTransform.from_dict(state["transforms"][name]).kind,
                     static=name == START, points=state["variables"][name]["points"]) for name in names]


def _layout(schema: Schema, state: dict) -> list[Span]:
    specs = state["variables"]
    time_channels = _time_channels(schema, state)
    # (name, kind, classes, static) in layout order: reals first, then the one-hot blocks
    reals = [(v.name, "real", 1, v.static) for v in [*schema.variables, *time_channels] if v.kind == "numeric"]
    blocks = []
    for v in schema.variables:
        if v.kind != "numeric":
            n_classes = len(v.categories) + specs[v.name]["missing"]
            if n_classes > 1:
                blocks.append((v.name, n_classes, v.static))
    blocks += [(mode_channel(v.name), len(v.points) + 1 + specs[v.name]["missing"], v.static)
               for v in [*schema.variables, *time_channels] if v.mixed]
    blocks += [(missing_channel(v.name), 2, v.static) for v in schema.variables
               if v.kind == "numeric" and not v.points and specs[v.name]["missing"]]
    blocks += [(changed_channel(v.name), 2, False) for v in schema.variables
               if v.kind == "numeric" and v.held and not v.static and v.held_by is None]
    if state["variable_lengths"]:
        blocks.append((PRESENT, 2, False))
    if state["length_block"]:
        blocks.append((LENGTH, state["max_length"], True))

    spans, start = [], 0
    for name, kind, n_classes, static in reals + [(n, "bin" if k == 2 else "cat", k, s) for n, k, s in blocks]:
        spans.append(Span(name, kind, n_classes, EMBED_DIM[kind], start, start + n_classes, static))
        start += n_classes
    return spans


def _one_hot(features: np.ndarray, span: Span, codes: np.ndarray) -> None:
    """Set each row's class channel to 1 in a zeroed, C-ordered [rows, F] array (one scatter)."""
    features.reshape(-1)[np.arange(len(codes)) * features.shape[1] + span.start + codes] = 1.0


def _plain_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def _numbers(values: np.ndarray, dtype: str):
    """Numbers in the fitted column's dtype: integers rounded (nullable Int64 where cells are
    empty), ids as text when the table's ids were text."""
    target = pd.api.types.pandas_dtype(dtype)
    if not pd.api.types.is_numeric_dtype(target):
        return pd.Series(values).astype(target)
    if pd.api.types.is_integer_dtype(target):
        values = np.round(values)
        if np.isnan(values).any():
            target = pd.Int64Dtype()
    return pd.array(values, dtype=target)


def _labels(codes: np.ndarray, categories: list, dtype: str):
    """Class indices -> the table's own labels in its own dtype; index len(categories) (the
    "missing" class) -> an empty cell."""
    target = pd.api.types.pandas_dtype(dtype)
    if isinstance(target, pd.StringDtype):   # stay in pyarrow: Python string objects would cost seconds
        labels = pyarrow.array([str(c) for c in categories] + [None], type=pyarrow.string())
        return pd.array(labels.take(pyarrow.array(codes)), dtype=target)
    if isinstance(target, np.dtype) and target.kind in "fc":   # numbers with empty cells are floats
        return np.append(np.asarray(categories, dtype=target), np.nan)[codes]
    if isinstance(target, np.dtype) and target != object:     # numbers and bools: never empty
        return np.asarray(categories).astype(target)[codes]
    codes = np.where(codes >= len(categories), -1, codes)
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(categories))).astype(target)


def curriculum_lengths(max_length: int, stages: int = 6) -> list[int]:
    """Health Gym's curriculum: 60 -> [10, 20, ..., 60]; other lengths split the same way."""
    if max_length < 1 or stages < 1:
        raise HGymError(f"A curriculum needs a length and a number of stages of at least 1 "
                        f"(got max_length={max_length}, stages={stages}).")
    return sorted({math.ceil(max_length * k / stages) for k in range(1, stages + 1)})


@dataclass
class RealBatch:
    """One training batch: the patients at ``index`` of ``cohort``, cut at the curriculum's
    ``length``. ``sequences`` is the batch padded only to its own longest patient; ``at(L)`` pads
    it further when its fakes are longer (a critic compares both at one length)."""

    cohort: EncodedCohort
    index: torch.Tensor
    length: int
    _padded: torch.Tensor | None = field(default=None, init=False, repr=False)

    @property
    def lengths(self) -> torch.Tensor:
        return self.cohort.lengths[self.index]

    @property
    def longest(self) -> int:
        return min(self.length, int(self.lengths.max()))

    @property
    def sequences(self) -> torch.Tensor:
        return self.at(self.longest)

    def at(self, length: int) -> torch.Tensor:
        """[B, L, F] for L between the batch's longest patient and the curriculum's length."""
        if self._padded is None or self._padded.shape[1] != length:
            self._padded = self.cohort.padded(self.index, length)
        return self._padded


def curriculum_batches(cohort: EncodedCohort, length: int, batch_size: int, seed: int) -> Iterator[RealBatch]:
    """Shuffled batches of every patient's first L steps, each patient once per call.

    Patients shorter than L keep their padding (``__present__`` = absent), so none is dropped; the
    last batch holds the remainder and may be smaller than ``batch_size``. A batch is padded only
    to its longest patient (or its fakes', ``RealBatch.at``), so its cost follows its rows.
    """
    if not 1 <= length <= cohort.max_length:
        raise HGymError(f"Curriculum length {length} must be between 1 and the longest patient "
                        f"({cohort.max_length} steps).")
    if batch_size < 1:
        raise HGymError(f"Setting 'batch_size' must be at least 1 (got {batch_size}).")
    order = torch.randperm(cohort.n_patients, generator=torch.Generator().manual_seed(seed))
    for index in torch.split(order, batch_size):
        yield RealBatch(cohort, index, length)
