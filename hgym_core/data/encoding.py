"""Patient tables ⇄ float32 tensors [patients, T, F] for the WGAN-GP, in Health Gym's layout.

Feature layout (the span table the critic's soft embeddings read):
1. reals, one channel each, in [0, 1]: the numeric variables in schema order (Box-Cox/log/min-max,
   see ``transforms.py``), then ``__gap__`` (time since the previous row; the first row holds the
   time since the cohort's earliest start) when the schema's time mode is irregular;
2. one-hot blocks: binary and categorical variables in schema order, then a 2-class
   ``<var> (missing)`` block for each numeric variable with any empty cell (class 1 = missing),
   then a 2-class ``__present__`` block (class 1 = row present) only when patients' lengths vary.

Patients shorter than T are padded by repeating their last row with ``__present__`` set to
"absent", so padding never adds artificial zeros to the correlations and every block stays a
valid one-hot vector (a generator's softmax cannot produce an all-zero block).

Decoding takes exact encodings or raw generator outputs (sigmoid reals, softmax blocks): reals
are clipped into [0, 1] and inverted, blocks are read by argmax; static variables take the
patient's majority class (numeric ones the mean over the patient's rows), so each decoded
patient holds one value. Everything is vectorised over rows: no per-patient Python loops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Literal

import numpy as np
import pandas as pd
import pyarrow
import torch

from hgym_core.errors import HGymError
from hgym_core.data.schema import Schema
from hgym_core.data.transforms import NumericTransform
from hgym_core.data.validation import check, label_codes, patient_starts

GAP = "__gap__"
PRESENT = "__present__"
EMBED_DIM = {"real": 1, "bin": 2, "cat": 4}


def missing_channel(name: str) -> str:
    return f"{name} (missing)"


@dataclass(frozen=True)
class Span:
    name: str                 # variable name; extra channels: "<var> (missing)", "__present__", "__gap__"
    kind: Literal["real", "bin", "cat"]
    n_classes: int            # 1 for real, 2 for bin, k for cat
    embed_dim: int            # critic soft-embedding size: real 1, bin 2, cat 4
    start: int
    end: int                  # [start, end) in the feature vector


@dataclass
class EncodedCohort:
    data: torch.Tensor        # float32 [N, T, F]
    lengths: torch.Tensor     # int64 [N]
    patient_ids: list         # the table's ids, in tensor order


@dataclass
class _Rows:
    """A checked table's row structure: rows grouped by patient, in time order."""

    table: pd.DataFrame
    starts: np.ndarray        # first row of each patient
    lengths: np.ndarray       # rows per patient
    patient: np.ndarray       # patient index of each row
    position: np.ndarray      # 0-based step within the patient

    @classmethod
    def of(cls, table: pd.DataFrame, id_column: str) -> "_Rows":
        first = patient_starts(table[id_column])
        starts = np.flatnonzero(first)
        lengths = np.diff(np.append(starts, len(first)))
        patient = np.cumsum(first) - 1
        return cls(table, starts, lengths, patient, np.arange(len(first)) - starts[patient])


class Encoder:
    """Fitted per-variable parameters plus the span layout; JSON-safe through to_dict/from_dict."""

    def __init__(self, schema: Schema, state: dict):
        self.schema = schema
        self.state = state
        self.transforms = {name: NumericTransform.from_dict(p) for name, p in state["transforms"].items()}
        self.max_length: int = state["max_length"]
        self.spans: list[Span] = _layout(schema, list(state["fills"]), state["variable_lengths"])
        self.n_features: int = self.spans[-1].end if self.spans else 0
        self._span = {span.name: span for span in self.spans}

    # ---- fit ----------------------------------------------------------------------------
    @classmethod
    def fit(cls, df: pd.DataFrame, schema: Schema) -> "Encoder":
        table = check(df, schema)
        rows = _Rows.of(table, schema.id_column)
        transforms: dict[str, dict] = {}
        fills: dict[str, float] = {}   # encoded value put in empty cells, per variable with any
        for variable in schema.variables:
            if variable.kind != "numeric":
                continue
            values = table[variable.name].to_numpy(dtype=np.float64, na_value=np.nan)
            empty = np.isnan(values)
            transform = NumericTransform.fit(values[~empty], variable.transform)
            transforms[variable.name] = transform.to_dict()
            if empty.any():   # the median code keeps filled cells mid-distribution
                fills[variable.name] = float(np.median(transform.forward(values[~empty])))
        time_state = _fit_time(table[schema.time_column], rows)
        if schema.time_mode == "irregular":
            gaps = _gaps(table[schema.time_column], rows, time_state["start"])
            transforms[GAP] = NumericTransform.fit(gaps, "minmax").to_dict()
        state = {
            "columns": [c for c in df.columns if c in set(schema.columns)],
            "dtypes": {c: str(table[c].dtype) for c in schema.columns},   # numbers given as text are numbers now
            "max_length": int(rows.lengths.max()),
            "variable_lengths": bool(rows.lengths.min() != rows.lengths.max()),
            "fills": fills,   # its keys, in schema order, are the variables with a missing block
            "time": time_state,
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
            span = self._span[variable.name]
            column = table[variable.name]
            if variable.kind == "numeric":
                values = column.to_numpy(dtype=np.float64, na_value=np.nan)
                encoded = self.transforms[variable.name].forward(values)
                if variable.name in self.state["fills"]:
                    absent = np.isnan(values)
                    encoded[absent] = self.state["fills"][variable.name]
                    _one_hot(features, self._span[missing_channel(variable.name)], absent.astype(np.int64))
                elif np.isnan(values).any():
                    raise HGymError(f"Column '{variable.name}' has empty cells, but the encoder was fitted on a "
                                    "table where it had none; fit the encoder on this table (or one like it).")
                features[:, span.start] = encoded
            else:
                codes = label_codes(column, variable.categories)
                _one_hot(features, span, codes)
        if GAP in self._span:
            gaps = _gaps(table[self.schema.time_column], rows, self.state["time"]["start"])
            features[:, self._span[GAP].start] = self.transforms[GAP].forward(gaps)
        data = self._to_sequences(features, rows)
        ids = table[self.schema.id_column].to_numpy()[rows.starts].tolist()
        return EncodedCohort(torch.from_numpy(data), torch.from_numpy(rows.lengths.astype(np.int64)), ids)

    def _check_lengths(self, rows: _Rows) -> None:
        longest = int(rows.lengths.max())
        if longest > self.max_length:
            patient = rows.table[self.schema.id_column].iloc[rows.starts[int(rows.lengths.argmax())]]
            raise HGymError(f"Patient {patient!r} has {longest} rows but the encoder was fitted on patients of at "
                            f"most {self.max_length}; fit the encoder on this table or shorten that patient.")
        if PRESENT not in self._span and rows.lengths.min() < self.max_length:
            raise HGymError(f"Patients have fewer than {self.max_length} rows here, but the encoder was fitted on "
                            "patients of equal length; fit the encoder on this table so it learns row presence.")

    def _to_sequences(self, features: np.ndarray, rows: _Rows) -> np.ndarray:
        n_patients, length = len(rows.starts), self.max_length
        if (rows.lengths == length).all():
            return features.reshape(n_patients, length, self.n_features)   # a view: no copy
        steps = np.arange(length)
        # Padding repeats the patient's last row; only the presence block tells it apart.
        source = rows.starts[:, None] + np.minimum(steps[None, :], rows.lengths[:, None] - 1)
        data = features[source]
        present = self._span[PRESENT]
        is_present = steps[None, :] < rows.lengths[:, None]
        data[:, :, present.start] = ~is_present
        data[:, :, present.start + 1] = is_present
        return data

    # ---- decode -------------------------------------------------------------------------
    def decode(self, data, lengths=None) -> pd.DataFrame:
        """Tensor/ndarray [N, T, F] -> a table in the fitted table's own columns, order and dtypes."""
        array = data.detach().cpu().numpy() if isinstance(data, torch.Tensor) else np.asarray(data)
        if array.ndim != 3 or array.shape[2] != self.n_features:
            raise HGymError(f"Cannot decode an array of shape {tuple(array.shape)}: expected "
                            f"[patients, steps, {self.n_features}] features from this encoder.")
        n_patients, length, _ = array.shape
        lengths = self._decode_lengths(array, lengths)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        patient = np.repeat(np.arange(n_patients), lengths)
        position = np.arange(len(patient)) - starts[patient]
        flat = array.reshape(n_patients * length, self.n_features)
        features = flat if (lengths == length).all() else flat[patient * length + position]
        decoded = _Decoded(features, patient, lengths)

        dtypes = self.state["dtypes"]
        columns = {self.schema.id_column: _numbers(np.arange(n_patients)[patient], dtypes[self.schema.id_column]),
                   self.schema.time_column: _numbers(self._decode_time(decoded, position, starts),
                                                     dtypes[self.schema.time_column])}
        for variable in self.schema.variables:
            span = self._span[variable.name]
            if variable.kind == "numeric":
                values = self.transforms[variable.name].inverse(decoded.real(span, variable.static))
                if variable.name in self.state["fills"]:
                    absent = decoded.codes(self._span[missing_channel(variable.name)], variable.static) == 1
                    values[absent] = np.nan
                columns[variable.name] = _numbers(values, dtypes[variable.name])
            else:
                columns[variable.name] = _labels(decoded.codes(span, variable.static), variable.categories,
                                                 dtypes[variable.name])
        return pd.DataFrame({name: columns[name] for name in self.state["columns"]})

    def _decode_lengths(self, array: np.ndarray, lengths) -> np.ndarray:
        n_patients, length, _ = array.shape
        if lengths is not None:
            lengths = lengths.detach().cpu().numpy() if isinstance(lengths, torch.Tensor) else np.asarray(lengths)
            if lengths.shape != (n_patients,):
                raise HGymError(f"Got {lengths.shape} lengths for {n_patients} patients; give one length per patient.")
        elif PRESENT in self._span:
            start = self._span[PRESENT].start
            absent = array[:, :, start] >= array[:, :, start + 1]
            # A patient ends at its first "absent" step; every patient keeps at least one row.
            lengths = np.where(absent.any(axis=1), absent.argmax(axis=1), length)
        else:
            lengths = np.full(n_patients, length)
        return np.clip(lengths.astype(np.int64), 1, length)

    def _decode_time(self, decoded: "_Decoded", position: np.ndarray, starts: np.ndarray) -> np.ndarray:
        time = self.state["time"]
        if GAP not in self._span:
            return time["start"] + position
        gaps = self.transforms[GAP].inverse(decoded.real(self._span[GAP], static=False))
        # Later rows move forward by at least the smallest real step, so times stay strictly increasing.
        later = position > 0
        gaps[later] = np.maximum(gaps[later], time["min_step"])
        if time["integer"]:
            gaps = np.round(gaps)
        totals = np.cumsum(gaps)
        before = np.concatenate([[0.0], totals])[starts]
        return time["start"] + totals - before[decoded.patient]

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


def _layout(schema: Schema, missing: list[str], variable_lengths: bool) -> list[Span]:
    reals = [v.name for v in schema.variables if v.kind == "numeric"]
    if schema.time_mode == "irregular":
        reals.append(GAP)
    blocks = [(v.name, "bin" if v.kind == "binary" else "cat", len(v.categories))
              for v in schema.variables if v.kind != "numeric"]
    blocks += [(missing_channel(name), "bin", 2) for name in missing]
    if variable_lengths:
        blocks.append((PRESENT, "bin", 2))
    spans, start = [], 0
    for name, kind, n_classes in [(name, "real", 1) for name in reals] + blocks:
        spans.append(Span(name, kind, n_classes, EMBED_DIM[kind], start, start + n_classes))
        start += n_classes
    return spans


def _one_hot(features: np.ndarray, span: Span, codes: np.ndarray) -> None:
    """Set each row's class channel to 1 in a zeroed, C-ordered [rows, F] array (one scatter)."""
    features.reshape(-1)[np.arange(len(codes)) * features.shape[1] + span.start + codes] = 1.0


def _fit_time(times: pd.Series, rows: _Rows) -> dict:
    values = times.to_numpy(dtype=np.float64)
    firsts = values[rows.starts]
    steps = np.diff(values)[rows.position[1:] > 0]
    return {
        # step mode: the time of step 0; irregular: where the first row's gap counts from.
        "start": _plain_number(firsts.min()),
        "min_step": _plain_number(steps.min()) if len(steps) else 1,
        "integer": bool(pd.api.types.is_integer_dtype(times) or np.all(np.mod(values, 1) == 0)),
    }


def _gaps(times: pd.Series, rows: _Rows, origin: float) -> np.ndarray:
    values = times.to_numpy(dtype=np.float64)
    gaps = np.empty_like(values)
    gaps[1:] = np.diff(values)
    first = rows.starts
    gaps[first] = values[first] - origin
    return gaps


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
    """Class indices -> the table's own labels in its own dtype."""
    target = pd.api.types.pandas_dtype(dtype)
    if isinstance(target, pd.StringDtype):   # stay in pyarrow: Python string objects would cost seconds
        return pd.array(pyarrow.array([str(c) for c in categories]).take(pyarrow.array(codes)), dtype=target)
    if isinstance(target, np.dtype) and target != object:   # numbers and bools
        return np.asarray(categories).astype(target)[codes]
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(categories))).astype(target)


def curriculum_lengths(max_length: int, stages: int = 6) -> list[int]:
    """Health Gym's curriculum: 60 -> [10, 20, ..., 60]; other lengths split the same way."""
    if max_length < 1 or stages < 1:
        raise HGymError(f"A curriculum needs a length and a number of stages of at least 1 "
                        f"(got max_length={max_length}, stages={stages}).")
    return sorted({math.ceil(max_length * k / stages) for k in range(1, stages + 1)})


def curriculum_batches(cohort: EncodedCohort, length: int, batch_size: int, seed: int) -> Iterator[torch.Tensor]:
    """Shuffled [B, L, F] batches of every patient's first L steps, each patient once per call.

    Patients shorter than L keep their padding (``__present__`` = absent), so none is dropped;
    the last batch holds the remainder and may be smaller than ``batch_size``.
    """
    n_patients, longest = cohort.data.shape[0], cohort.data.shape[1]
    if not 1 <= length <= longest:
        raise HGymError(f"Curriculum length {length} must be between 1 and the longest patient ({longest} steps).")
    if batch_size < 1:
        raise HGymError(f"Setting 'batch_size' must be at least 1 (got {batch_size}).")
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(n_patients, generator=generator).to(cohort.data.device)
    for first in range(0, n_patients, batch_size):
        yield cohort.data[order[first:first + batch_size], :length]
