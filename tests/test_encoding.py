"""Encoder: layout, exact round trips, decoding raw generator outputs, and the real-table extras
(missing values, variable lengths, irregular times, static variables), plus curriculum batches."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hgym_core.data.encoding import (GAP, PRESENT, START, EncodedCohort, Encoder, curriculum_batches, curriculum_lengths,
                                missing_channel)
from hgym_core.data.demo import hiv_schema, simulate_hiv_cohort
from hgym_core.errors import HGymError
from hgym_core.data.schema import Schema, Variable
from hgym_core.data.transforms import NumericTransform, boxcox_lambda

# ---- helpers --------------------------------------------------------------------------------


def assert_round_trip(original: pd.DataFrame, decoded: pd.DataFrame, encoder: Encoder) -> None:
    """Same columns, order and dtypes; labels, ids and times exact; numerics lose only float32 rounding.

    The tensor is float32 (the contract), so a number comes back within half a float32 step of
    its [0, 1] code: within 1e-6 of the column's largest magnitude for most columns, but a long
    tail that Box-Cox with λ < 0 compresses (the demo's VL, λ ≈ -0.43) comes back within ~2e-5
    relative at 100,000.
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
        if transform.kind == "minmax" or transform.lmbda >= 0:   # no tail compression: 1e-6 of the scale
            scale = np.abs(want[observed]).max()
            np.testing.assert_allclose(got[observed], want[observed], rtol=1e-6, atol=1e-6 * scale, err_msg=name)


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


def without_held(schema: Schema) -> Schema:
    return replace(schema, variables=[replace(v, held=False) for v in schema.variables])


def test_hiv_layout_is_reals_first_then_one_hot_blocks(hiv_cohort):
    schema = Schema.infer(hiv_cohort)
    # The measurements are carried forward between visits: held until changed.
    assert [v.name for v in schema.variables if v.held] == ["VL", "CD4", "Rel CD4"]
    assert [s.name for s in Encoder.fit(hiv_cohort, schema).spans][-3:] == [
        "VL (changed)", "CD4 (changed)", "Rel CD4 (changed)"]
    encoder = Encoder.fit(hiv_cohort, without_held(schema))   # the published Health Gym layout
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
    assert cohort.padded().dtype == torch.float32 and cohort.padded().shape == (200, 60, encoder.n_features)
    assert cohort.lengths.dtype == torch.int64 and cohort.lengths.tolist() == [60] * 200
    assert cohort.patient_ids == sorted(hiv_cohort["PatientID"].unique().tolist())
    assert float(cohort.padded().min()) >= 0.0 and float(cohort.padded().max()) <= 1.0
    for span in encoder.spans:
        if span.kind != "real":   # every block is one-hot
            assert torch.all(cohort.padded()[:, :, span.start:span.end].sum(-1) == 1), span.name
    assert_round_trip(hiv_cohort, encoder.decode(cohort.padded(), cohort.lengths), encoder)


def test_float64_round_trip_is_within_1e6_relative_for_every_numeric(hiv_cohort):
    schema = Schema.infer(hiv_cohort)
    encoder = Encoder.fit(hiv_cohort, schema)
    cohort = encoder.encode(hiv_cohort, dtype=torch.float64)
    assert cohort.padded().dtype == torch.float64
    decoded = encoder.decode(cohort.padded(), cohort.lengths)
    for name in ("VL", "CD4", "Rel CD4"):
        np.testing.assert_allclose(decoded[name].to_numpy(float), hiv_cohort[name].to_numpy(float),
                                   rtol=1e-6, atol=0, err_msg=name)


def test_encoder_rebuilds_from_json(hiv_cohort):
    schema = Schema.infer(hiv_cohort)
    encoder = Encoder.fit(hiv_cohort, schema)
    rebuilt = Encoder.from_dict(json.loads(json.dumps(encoder.to_dict())))
    assert rebuilt.spans == encoder.spans
    sample = hiv_cohort[hiv_cohort["PatientID"] < 5]
    assert torch.equal(rebuilt.encode(sample).rows, encoder.encode(sample).rows)


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


def test_decode_rejects_an_array_of_the_wrong_width():
    table = cohort_table()
    encoder = Encoder.fit(table, Schema.infer(table))
    with pytest.raises(HGymError, match=f"{encoder.n_features}"):
        encoder.decode(np.zeros((2, 6, encoder.n_features + 1), dtype=np.float32))


def test_from_dict_of_an_incomplete_encoder_says_to_refit():
    table = cohort_table()
    state = Encoder.fit(table, Schema.infer(table)).to_dict()
    del state["transforms"]
    with pytest.raises(HGymError, match="refit"):
        Encoder.from_dict(state)


# ---- numeric transforms ---------------------------------------------------------------------


def test_boxcox_lambda_matches_scipy_maximum_likelihood():
    from scipy import stats

    rng = np.random.default_rng(3)
    for sample in (rng.gamma(2.0, 100.0, 3000) + 1, np.exp(rng.normal(2, 1.5, 3000)), 1 / rng.uniform(0.01, 1, 3000)):
        assert boxcox_lambda(sample) == pytest.approx(stats.boxcox_normmax(sample, method="mle"), abs=1e-5)


def test_boxcox_keeps_lambda_where_the_column_can_be_decoded():
    x = np.array([1469.52, 727.325, 717.36, 738.217])   # found by hypothesis: the likelihood's best λ is ≈ -5
    transform = NumericTransform.fit(x, "boxcox")
    positive_power = np.exp(transform.lmbda * np.log(x + transform.shift + transform.eps))
    assert positive_power.min() >= 1e-7 * (1 - 1e-9)
    np.testing.assert_allclose(transform.inverse(transform.forward(x)), x, rtol=1e-6, atol=1e-9)
    coded = transform.forward(x).astype(np.float32)          # what the training tensor holds
    np.testing.assert_allclose(transform.forward(transform.inverse(coded)), coded, atol=2 ** -24)


@pytest.mark.parametrize("kind", ["boxcox", "log", "minmax"])
def test_values_at_or_below_zero_still_round_trip(kind):
    x = np.array([-40.0, -3.5, 0.0, 0.0, 2.0, 17.0, 950.0])
    transform = NumericTransform.fit(x, kind)
    y = transform.forward(x)
    assert y.min() == 0.0 and y.max() == 1.0 and np.all(np.isfinite(y))
    assert transform.shift == (40.0 if kind != "minmax" else 0.0)
    np.testing.assert_allclose(transform.inverse(y), x, atol=1e-9)


def test_numeric_columns_with_negatives_encode_and_decode():
    table = cohort_table()
    table["Balance"] = np.random.default_rng(5).normal(0, 10, len(table))
    encoder = Encoder.fit(table, Schema.infer(table))
    cohort = encoder.encode(table)
    assert encoder.transforms["Balance"].shift > 0
    assert_round_trip(table, encoder.decode(cohort.padded()), encoder)


# ---- missing values -------------------------------------------------------------------------


def with_missing(table: pd.DataFrame, column: str, rate: float, seed: int = 0) -> pd.DataFrame:
    table = table.copy()
    table[column] = table[column].astype(float)
    table.loc[np.random.default_rng(seed).random(len(table)) < rate, column] = np.nan
    return table


def test_missing_numeric_values_get_an_indicator_block_and_come_back_empty():
    table = with_missing(cohort_table(), "VL", 0.3)
    table["CD4"] = pd.array(np.where(np.arange(len(table)) % 7 == 0, None, table["CD4"]), dtype="Int64")
    encoder = Encoder.fit(table, Schema.infer(table))
    names = [s.name for s in encoder.spans]
    assert names[-2:] == [missing_channel("VL"), missing_channel("CD4")]
    assert all(encoder.spans[names.index(missing_channel(n))].kind == "bin" for n in ("VL", "CD4"))
    cohort = encoder.encode(table)
    block = encoder.spans[names.index(missing_channel("VL"))]
    flagged = cohort.padded()[:, :, block.start + 1].reshape(-1).numpy() == 1
    np.testing.assert_array_equal(flagged, table["VL"].isna().to_numpy())
    decoded = encoder.decode(cohort.padded())
    assert decoded["CD4"].dtype == "Int64"
    assert_round_trip(table, decoded, encoder)


def test_decoded_synthetic_data_is_missing_where_the_channel_says():
    table = with_missing(cohort_table(n_patients=20), "VL", 0.25)
    encoder = Encoder.fit(table, Schema.infer(table))
    raw = softmax_like(np.random.default_rng(2), encoder, n=40, length=encoder.max_length)
    block = next(s for s in encoder.spans if s.name == missing_channel("VL"))
    says_missing = raw[:, :, block.start + 1] > raw[:, :, block.start]
    decoded = encoder.decode(raw)
    np.testing.assert_array_equal(decoded["VL"].isna().to_numpy(), says_missing.reshape(-1))
    assert decoded["VL"].notna().any() and decoded["VL"].isna().any()


def test_encoding_empty_cells_the_encoder_never_saw_asks_to_refit():
    table = cohort_table()
    encoder = Encoder.fit(table, Schema.infer(table))
    with pytest.raises(HGymError, match="'VL'.*fit the encoder"):
        encoder.encode(with_missing(table, "VL", 0.2))


# ---- variable lengths -----------------------------------------------------------------------


def ragged(table: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Keep a random number of first rows (at least 1) per patient."""
    lengths = np.random.default_rng(seed).integers(1, table.groupby("PatientID").size().max() + 1,
                                                   table["PatientID"].nunique())
    lengths[0] = table.groupby("PatientID").size().max()   # someone reaches the full length
    keep = table.groupby("PatientID").cumcount().to_numpy() < lengths[table["PatientID"].to_numpy()]
    return table[keep].reset_index(drop=True)


def test_variable_lengths_get_a_present_block_and_padding_repeats_the_last_row():
    table = ragged(cohort_table())
    encoder = Encoder.fit(table, Schema.infer(table))
    assert encoder.spans[-1].name == PRESENT and encoder.spans[-1].kind == "bin"
    cohort = encoder.encode(table)
    lengths = table.groupby("PatientID").size().to_numpy()
    assert cohort.lengths.tolist() == lengths.tolist()
    present = encoder.spans[-1]
    steps = torch.arange(encoder.max_length)
    expected_present = steps[None, :] < cohort.lengths[:, None]
    assert torch.equal(cohort.padded()[:, :, present.start + 1].bool(), expected_present)
    assert torch.equal(cohort.padded()[:, :, present.start].bool(), ~expected_present)
    for i, n in enumerate(lengths.tolist()):
        padding = cohort.padded()[i, n:, :present.start]
        assert torch.equal(padding, cohort.padded()[i, n - 1, :present.start].expand_as(padding))
    # Lengths come back from the present block alone.
    assert_round_trip(table, encoder.decode(cohort.padded()), encoder)


def test_synthetic_patients_end_at_their_first_absent_step():
    table = ragged(cohort_table())
    encoder = Encoder.fit(table, Schema.infer(table))
    raw = softmax_like(np.random.default_rng(4), encoder, n=3, length=encoder.max_length)
    present = encoder.spans[-1]
    pattern = np.array([[1, 1, 1, 0, 1, 1], [1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 0, 0]], dtype=np.float32)
    raw[:, :, present.start + 1] = 0.2 + 0.6 * pattern   # softmax-like, not exactly one-hot
    raw[:, :, present.start] = 1 - raw[:, :, present.start + 1]
    decoded = encoder.decode(raw)
    assert decoded.groupby("PatientID").size().tolist() == [3, 6, 1]   # at least one row each
    assert decoded.groupby("PatientID")["Timestep"].max().tolist() == [2, 5, 0]
    explicit = encoder.decode(raw, lengths=torch.tensor([2, 1, 4]))
    assert explicit.groupby("PatientID").size().tolist() == [2, 1, 4]


def test_encoder_refuses_patients_it_cannot_represent():
    table = cohort_table(steps=6)
    equal = Encoder.fit(table, Schema.infer(table))
    with pytest.raises(HGymError, match="equal length"):
        equal.encode(ragged(table))
    short = table[table["Timestep"] < 4]
    with pytest.raises(HGymError, match="6 rows.*at most 4"):
        Encoder.fit(short, Schema.infer(short)).encode(table)


# ---- irregular times ------------------------------------------------------------------------


def irregular(table: pd.DataFrame, seed: int = 0, integer: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    gaps = rng.integers(1, 40, len(table)) if integer else rng.uniform(0.5, 40, len(table))
    first = table.groupby("PatientID").cumcount().to_numpy() == 0
    gaps[first] = rng.integers(0, 10, first.sum())   # patients start on different days
    day = pd.Series(gaps).groupby(table["PatientID"].to_numpy()).cumsum().to_numpy()
    return table.drop(columns="Timestep").assign(Day=day)[["PatientID", "Day", *table.columns[2:]]]


def test_irregular_times_become_a_gap_channel_and_come_back_exactly():
    table = irregular(ragged(cohort_table()))
    schema = Schema.infer(table)
    assert (schema.time_column, schema.time_mode) == ("Day", "irregular")
    encoder = Encoder.fit(table, schema)
    reals = [(s.name, s.static) for s in encoder.spans if s.kind == "real"]
    assert reals == [("VL", False), ("CD4", False), (GAP, False), (START, True)]   # patients start on different days
    assert_round_trip(table, encoder.decode(encoder.encode(table).padded()), encoder)


def test_fractional_irregular_times_come_back_within_float32_rounding():
    table = irregular(cohort_table(), integer=False)
    encoder = Encoder.fit(table, Schema.infer(table))
    decoded = encoder.decode(encoder.encode(table).padded())
    np.testing.assert_allclose(decoded["Day"], table["Day"], rtol=1e-5)


def test_synthetic_irregular_times_increase_within_each_patient():
    table = irregular(cohort_table())
    encoder = Encoder.fit(table, Schema.infer(table))
    raw = softmax_like(np.random.default_rng(6), encoder, n=25, length=encoder.max_length)
    decoded = encoder.decode(raw)
    assert decoded["Day"].dtype == table["Day"].dtype
    steps = decoded.groupby("PatientID")["Day"].diff().dropna()
    assert (steps >= 1).all()   # the smallest real step between visits
    assert decoded.groupby("PatientID")["Day"].min().min() >= table["Day"].min()


# ---- static variables -----------------------------------------------------------------------


def test_static_variables_take_each_patients_majority():
    table = cohort_table(steps=6)
    table["Age"] = np.repeat(np.random.default_rng(8).uniform(20, 80, 12), 6)
    schema = Schema.infer(table)
    assert schema.variable("Gender").static and schema.variable("Age").static
    encoder = Encoder.fit(table, schema)
    data = encoder.encode(table).padded().clone()
    gender = next(s for s in encoder.spans if s.name == "Gender")
    data[0, :2, gender.start:gender.end] = data[0, :2, gender.start:gender.end].flip(-1)   # 2 of 6 rows flipped
    decoded = encoder.decode(data)
    assert decoded.loc[decoded["PatientID"] == 0, "Gender"].tolist() == [table.loc[0, "Gender"]] * 6
    raw = softmax_like(np.random.default_rng(9), encoder, n=30, length=6)
    synthetic = encoder.decode(raw)
    assert (synthetic.groupby("PatientID")[["Gender", "Age"]].nunique() == 1).all().all()
    # A numeric static variable holds the inverse of the patient's mean code.
    age = next(s for s in encoder.spans if s.name == "Age")
    mean_code = np.clip(raw[:, :, age.start], 0, 1).mean(axis=1)
    np.testing.assert_allclose(synthetic.groupby("PatientID")["Age"].first(),
                               encoder.transforms["Age"].inverse(mean_code), rtol=1e-6)


# ---- curriculum -----------------------------------------------------------------------------


@pytest.mark.parametrize("longest, expected", [(60, [10, 20, 30, 40, 50, 60]), (48, [8, 16, 24, 32, 40, 48]),
                                               (20, [4, 7, 10, 14, 17, 20]), (3, [1, 2, 3])])
def test_curriculum_lengths_split_the_longest_patient(longest, expected):
    assert curriculum_lengths(longest) == expected


def test_curriculum_batches_cover_every_patient_once_shuffled_by_seed():
    table = ragged(cohort_table(n_patients=10, steps=6), seed=1)
    encoder = Encoder.fit(table, Schema.infer(table))
    cohort = encoder.encode(table)
    batches = [b.sequences for b in curriculum_batches(cohort, length=5, batch_size=4, seed=0)]
    assert [tuple(b.shape) for b in batches] == [(4, 5, encoder.n_features)] * 2 + [(2, 5, encoder.n_features)]
    seen = torch.cat(batches)
    matches = [[torch.equal(row, patient) for patient in cohort.padded()[:, :5]] for row in seen]
    assert sorted(np.argmax(matches, axis=1).tolist()) == list(range(10))   # each patient once, short ones too
    assert all(any(m) for m in matches)
    again = torch.cat([b.sequences for b in curriculum_batches(cohort, length=5, batch_size=4, seed=0)])
    other = torch.cat([b.sequences for b in curriculum_batches(cohort, length=5, batch_size=4, seed=1)])
    assert torch.equal(again, seen) and not torch.equal(other, seen)


def long_tailed_table(seed: int = 0) -> pd.DataFrame:
    """One patient of 500 rows and 1,000 of 5 rows, a number and a label."""
    lengths = np.array([500] + [5] * 1000)
    rng = np.random.default_rng(seed)
    ids = np.repeat(np.arange(len(lengths)), lengths)
    steps = np.concatenate([np.arange(n) for n in lengths])
    return pd.DataFrame({"id": ids, "t": steps, "x": rng.gamma(2.0, 3.0, len(ids)).round(2),
                         "c": rng.choice(["a", "b", "c"], len(ids))})


def test_ragged_encoding_round_trips_a_long_tailed_table_exactly():
    table = long_tailed_table(seed=1)
    encoder = Encoder.fit(table, Schema.infer(table))
    cohort = encoder.encode(table, dtype=torch.float64)
    assert cohort.rows.shape == (len(table), encoder.n_features)   # rows, not patients x the longest
    assert cohort.lengths.tolist() == table.groupby("id").size().tolist()
    pd.testing.assert_frame_equal(encoder.decode_rows(cohort.rows, cohort.lengths), table, check_dtype=False)
    picked = cohort.subset(torch.tensor([3, 0]))
    assert picked.lengths.tolist() == [5, 500] and torch.equal(picked.padded()[1], cohort.padded(torch.tensor([0]))[0])


def test_curriculum_batches_reject_lengths_beyond_the_longest_patient():
    cohort = EncodedCohort(torch.zeros(18, 2), torch.full((3,), 6), [0, 1, 2])
    with pytest.raises(HGymError, match="longest patient"):
        next(curriculum_batches(cohort, length=7, batch_size=2, seed=0))


# ---- round trips over generated schemas -----------------------------------------------------

LABEL_SETS = {"text": ["low", "mid", "high", "very high", "n/a"], "int": [3, 1, 7, 5, 9], "bool": [False, True]}


@st.composite
def tables_with_schemas(draw):
    """A random small table and its schema: kinds, label types, transforms, static variables,
    empty numeric cells, ragged lengths and irregular times all drawn."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n_patients, longest = draw(st.integers(2, 6)), draw(st.integers(1, 5))
    lengths = rng.integers(1, longest + 1, n_patients) if draw(st.booleans()) else np.full(n_patients, longest)
    patient = np.repeat(np.arange(n_patients), lengths)
    position = np.concatenate([np.arange(n) for n in lengths])
    irregular = draw(st.booleans())
    time = (np.cumsum(rng.integers(1, 9, len(patient))) if irregular else position)
    table = {"id": np.array([f"P{p:02d}" for p in patient]), "t": time}
    variables = []
    for i in range(draw(st.integers(1, 4))):
        name, static = f"v{i}", draw(st.booleans())
        draw_rows = (lambda make: make(n_patients)[patient]) if static else (lambda make: make(len(patient)))
        kind = draw(st.sampled_from(["numeric", "binary", "categorical"]))
        if kind == "numeric":
            transform = draw(st.sampled_from(["boxcox", "log", "minmax"]))
            scale = draw(st.sampled_from([1.0, 1e3]))
            values = draw_rows(lambda n: np.round(rng.gamma(2.0, scale, n) - draw(st.sampled_from([0.0, 5.0])), 3))
            if draw(st.booleans()):
                missing = draw_rows(lambda n: rng.random(n) < 0.3)
                missing[patient == 0] = False   # never entirely empty
                values[missing] = np.nan
            table[name] = values
            variables.append(Variable(name, "numeric", transform=transform, static=static))
        else:
            labels = LABEL_SETS[draw(st.sampled_from(["text", "int", "bool"]))]
            labels = labels[:2] if kind == "binary" else labels[:draw(st.integers(1, len(labels)))]
            table[name] = draw_rows(lambda n: np.asarray(labels, dtype=object)[rng.integers(0, len(labels), n)])
            table[name] = pd.Series(table[name]).astype(type(labels[0])).to_numpy()
            variables.append(Variable(name, kind if len(labels) > 1 else "categorical", list(labels), static=static))
    schema = Schema("id", "t", variables, "irregular" if irregular else "step")
    return pd.DataFrame(table), schema


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables_with_schemas())
def test_round_trip_over_generated_schemas(generated):
    df, schema = generated
    encoder = Encoder.fit(df, schema)
    cohort = encoder.encode(df)
    decoded = encoder.decode(cohort.padded())
    # Ids are renumbered in the table's own form (P00, P01, …); the rest comes back as it was.
    assert_round_trip(df, decoded, encoder)
    rebuilt = Encoder.from_dict(json.loads(json.dumps(encoder.to_dict())))
    assert torch.equal(rebuilt.encode(df).padded(), cohort.padded())


def test_a_value_held_by_its_flag_changes_only_in_flagged_rows_and_adds_no_feature():
    table = simulate_hiv_cohort(n_patients=40, seed=3)
    schema = hiv_schema(table)
    assert schema.variable("VL").held_by == "VL (M)" and schema.variable("Rel CD4").held_by == "CD4 (M)"
    encoder = Encoder.fit(table, schema)
    assert encoder.n_features == 37   # the published layout: no block for the changes
    noisy = encoder.encode(table).padded().clone()
    vl = encoder._span["VL"].start
    noisy[:, :, vl] = torch.rand(noisy.shape[:2], generator=torch.Generator().manual_seed(0))   # a new value every month
    decoded = encoder.decode(noisy)
    changed = decoded.groupby("PatientID")["VL"].diff().fillna(1).ne(0)
    assert not (changed & decoded["VL (M)"].eq(0)).any()    # never a change in a month not measured
    assert changed[decoded["VL (M)"].eq(1) & decoded["Timestep"].gt(0)].mean() > 0.95
    again = Schema.from_json(schema.to_json())
    assert again.variable("CD4").held_by == "CD4 (M)"
    with pytest.raises(HGymError, match="held_by"):
        Schema.from_dict({**schema.to_dict(), "variables": [
            {**v, "held_by": "Ethnic"} if v["name"] == "VL" else v for v in schema.to_dict()["variables"]]})
