"""Encoder: layout, exact round trips, decoding raw generator outputs, and the real-table extras
(missing values, variable lengths, irregular times, static variables), plus curriculum batches."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from hgym_core.encoding import (GAP, PRESENT, EncodedCohort, Encoder, curriculum_batches, curriculum_lengths,
                                missing_channel)
from hgym_core.errors import HGymError
from hgym_core.schema import Schema, Variable
from hgym_core.transforms import NumericTransform, boxcox_lambda

# ---- helpers --------------------------------------------------------------------------------


def assert_round_trip(original: pd.DataFrame, decoded: pd.DataFrame, encoder: Encoder) -> None:
    """Same columns, order and dtypes; labels, ids and times exact; numerics lose only float32 rounding.

    The tensor is float32 (the contract), so a number comes back within half a float32 step of
    its [0, 1] code: 1e-6 relative or better for most columns, but a long tail that Box-Cox with
    λ < 0 compresses (the demo's VL, λ ≈ -0.43) comes back within ~2e-5 relative at 100,000.
    """
    assert list(decoded.columns) == list(original.columns)
    assert decoded.dtypes.to_dict() == original.dtypes.to_dict()
    assert len(decoded) == len(original)
    original = original.reset_index(drop=True)
    numeric = [v.name for v in encoder.schema.variables if v.kind == "numeric"]
    exact = [c for c in original.columns if c not in numeric]
    pd.testing.assert_frame_equal(decoded[exact], original[exact])
    for name in numeric:
        want = original[name].to_numpy(dtype=float, na_value=np.nan)
        got = decoded[name].to_numpy(dtype=float, na_value=np.nan)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        observed = ~np.isnan(want)
        transform = encoder.transforms[name]
        np.testing.assert_allclose(transform.forward(got[observed]), transform.forward(want[observed]),
                                   rtol=0, atol=2 ** -24, err_msg=name)
        if transform.kind == "minmax" or transform.lmbda >= 0:   # no tail compression: 1e-6 relative
            np.testing.assert_allclose(got[observed], want[observed], rtol=1e-6, err_msg=name)


def cohort_table(n_patients: int = 12, steps: int = 6, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = n_patients * steps
    return pd.DataFrame({
        "PatientID": np.repeat(np.arange(n_patients), steps),
        "Timestep": np.tile(np.arange(steps), n_patients),
        "VL": np.round(np.exp(rng.normal(4, 3, rows)), 2),
        "CD4": rng.integers(10, 1500, rows),
        "Gender": np.repeat(rng.choice(["Male", "Female"], n_patients), steps),
        "Regimen": rng.choice(["A + B", "C", "Other"], rows),
        "Boosted": rng.integers(0, 2, rows).astype(bool),
        "VL (M)": rng.integers(0, 2, rows),
    })


def softmax_like(rng: np.random.Generator, encoder: Encoder, n: int, length: int) -> np.ndarray:
    """What a generator emits: sigmoid reals (a little outside [0, 1] too) and softmax blocks."""
    data = np.empty((n, length, encoder.n_features), dtype=np.float32)
    for span in encoder.spans:
        if span.kind == "real":
            data[:, :, span.start] = rng.uniform(-0.05, 1.05, (n, length))
        else:
            logits = rng.normal(0, 2, (n, length, span.n_classes))
            data[:, :, span.start:span.end] = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    return data


# ---- layout and the plain Health Gym case ----------------------------------------------------


def test_hiv_layout_is_reals_first_then_one_hot_blocks(hiv_cohort):
    schema = Schema.infer(hiv_cohort)
    encoder = Encoder.fit(hiv_cohort, schema)
    names = [s.name for s in encoder.spans]
    assert names == ["VL", "CD4", "Rel CD4", "Gender", "Ethnic", "Base Drug Combo", "Comp. INI", "Comp. NNRTI",
                     "Extra PI", "Extra pk-En", "VL (M)", "CD4 (M)", "Drug (M)"]
    assert [(s.kind, s.n_classes, s.embed_dim) for s in encoder.spans[:5]] == [
        ("real", 1, 1), ("real", 1, 1), ("real", 1, 1), ("bin", 2, 2), ("cat", 4, 4)]
    # Spans tile the feature vector without gaps.
    assert [s.start for s in encoder.spans[1:]] == [s.end for s in encoder.spans[:-1]]
    assert encoder.n_features == encoder.spans[-1].end == 3 + 2 + 4 + 6 + 4 + 4 + 6 + 2 * 4
    assert encoder.max_length == 60


def test_hiv_round_trip_is_exact(hiv_cohort):
    schema = Schema.infer(hiv_cohort)
    encoder = Encoder.fit(hiv_cohort, schema)
    cohort = encoder.encode(hiv_cohort)
    assert cohort.data.dtype == torch.float32 and cohort.data.shape == (200, 60, encoder.n_features)
    assert cohort.lengths.dtype == torch.int64 and cohort.lengths.tolist() == [60] * 200
    assert cohort.patient_ids == sorted(hiv_cohort["PatientID"].unique().tolist())
    assert float(cohort.data.min()) >= 0.0 and float(cohort.data.max()) <= 1.0
    for span in encoder.spans:
        if span.kind != "real":   # every block is one-hot
            assert torch.all(cohort.data[:, :, span.start:span.end].sum(-1) == 1), span.name
    assert_round_trip(hiv_cohort, encoder.decode(cohort.data, cohort.lengths), encoder)


def test_encoder_rebuilds_from_json(hiv_cohort):
    schema = Schema.infer(hiv_cohort)
    encoder = Encoder.fit(hiv_cohort, schema)
    rebuilt = Encoder.from_dict(json.loads(json.dumps(encoder.to_dict())))
    assert rebuilt.spans == encoder.spans
    sample = hiv_cohort[hiv_cohort["PatientID"] < 5]
    assert torch.equal(rebuilt.encode(sample).data, encoder.encode(sample).data)


def test_decode_of_raw_generator_output_gives_valid_patients(hiv_cohort):
    schema = Schema.infer(hiv_cohort)
    encoder = Encoder.fit(hiv_cohort, schema)
    raw = softmax_like(np.random.default_rng(1), encoder, n=30, length=60)
    synthetic = encoder.decode(torch.from_numpy(raw))
    assert list(synthetic.columns) == list(hiv_cohort.columns)
    assert synthetic.dtypes.to_dict() == hiv_cohort.dtypes.to_dict()
    assert synthetic["PatientID"].tolist() == np.repeat(np.arange(30), 60).tolist()
    assert synthetic["Timestep"].tolist() == np.tile(np.arange(60), 30).tolist()
    for variable in schema.variables:
        column = synthetic[variable.name]
        if variable.kind == "numeric":   # clipped into the real range before inverting
            real = hiv_cohort[variable.name]
            assert column.min() >= real.min() - 1e-6 and column.max() <= real.max() * (1 + 1e-6), variable.name
        else:
            assert set(column.unique()) <= set(variable.categories), variable.name
        if variable.static:
            assert (synthetic.groupby("PatientID")[variable.name].nunique() == 1).all(), variable.name
