"""The built-in simulated HIV ART cohort: schema, published marginals and clinical dynamics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hgym_core.cli import main
from hgym_core.data.demo import (HIV_CATEGORIES, HIV_COLUMNS, HIV_NUMERIC, HIV_STATIC, HIV_UNITS, MAX_FOLLOW_UP,
                                  MAX_LONG_TAILED_PATIENTS, follow_up_months, hiv_schema, simulate_hiv_cohort,
                                  simulate_long_tailed_cohort)
from hgym_core.data.encoding import Encoder
from hgym_core.data.io import read_table
from hgym_core.errors import HGymError

N_MARGINALS = 3000   # ±2 points is ~4 standard errors of a month-pooled share at this size

# Published shares (HEALTH_GYM_V1.md), in percent of patient-months.
PUBLISHED = {
    "Gender": {"Male": 86, "Female": 14},
    "Ethnic": {"Other": 65, "Caucasian": 21, "African": 12, "Asian": 2},
    "Base Drug Combo": {"FTC + TDF": 48, "3TC + ABC": 29, "DRV + FTC + TDF": 14, "FTC + RTVB + TDF": 5,
                        "FTC + TAF": 3, "Other": 1},
    "Comp. INI": {"Not Applied": 66, "DTG": 23, "EVG": 7, "RAL": 4},
    "Comp. NNRTI": {"Not Applied": 59, "RPV": 23, "EFV": 15, "NVP": 3},
    "Extra PI": {"Not Applied": 77, "RTVB": 10, "DRV": 6, "ATV": 5, "RTV": 2.5, "LPV": 0.25},
    "Extra pk-En": {True: 6.5},
    "VL (M)": {1: 21},
    "CD4 (M)": {1: 19},   # published ~17-21
    "Drug (M)": {1: 86},  # published ~84-88
}


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return simulate_hiv_cohort(n_patients=N_MARGINALS, seed=11)


def regimen_of(df: pd.DataFrame) -> pd.Series:
    """One label per row for the whole drug combination (a change in it is a switch)."""
    return (df["Base Drug Combo"] + "|" + df["Comp. INI"] + "|" + df["Comp. NNRTI"] + "|" + df["Extra PI"]
            + "|" + df["Extra pk-En"].astype(str))


def grid(df: pd.DataFrame, column: str) -> np.ndarray:
    """A column as a [patients, months] array (rows are sorted by patient, then month)."""
    return df[column].to_numpy().reshape(df["PatientID"].nunique(), -1)


def test_schema_labels_and_types(hiv_cohort):
    df = hiv_cohort
    assert list(df.columns) == HIV_COLUMNS and len(HIV_COLUMNS) == 15
    assert len(df) == 200 * 60
    assert (df["PatientID"].to_numpy() == np.repeat(np.arange(200), 60)).all()
    assert (df["Timestep"].to_numpy() == np.tile(np.arange(60), 200)).all()
    for column, labels in HIV_CATEGORIES.items():
        assert set(df[column].unique()) <= set(labels), column
    for column in ["Gender", "Ethnic", "Base Drug Combo", "Comp. INI", "Comp. NNRTI", "Extra PI"]:
        assert pd.api.types.is_string_dtype(df[column]), column
    assert df["Extra pk-En"].dtype == bool
    for column in ["VL (M)", "CD4 (M)", "Drug (M)"]:
        assert pd.api.types.is_integer_dtype(df[column]), column
    assert all(pd.api.types.is_float_dtype(df[c]) for c in HIV_NUMERIC)
    assert HIV_STATIC == ["Gender", "Ethnic"] and set(HIV_UNITS) == set(HIV_NUMERIC)
    assert not df.isna().any().any()


def test_marginals_match_published_shares(cohort):
    for column, shares in PUBLISHED.items():
        observed = cohort[column].value_counts(normalize=True) * 100
        for label, published in shares.items():
            assert abs(observed.get(label, 0.0) - published) <= 2.0, (column, label, observed.get(label, 0.0))


def test_numeric_ranges_and_right_skew(cohort):
    vl, cd4, rel = cohort["VL"], cohort["CD4"], cohort["Rel CD4"]
    assert vl.min() >= 0.1 and vl.max() <= 2e5
    assert (vl < 50).mean() > 0.6                      # mass near undetectable
    assert vl.quantile(0.99) > 1e4                     # long right tail
    assert cd4.min() >= 8 and 300 <= cd4.median() <= 700 and cd4.max() < 3500
    assert cd4.mean() > cd4.median()                   # right-skewed
    assert rel.quantile(0.05) >= 2 and rel.quantile(0.95) <= 60 and 15 <= rel.median() <= 30


def test_static_variables_are_constant_per_patient(cohort):
    assert (cohort.groupby("PatientID")[HIV_STATIC].nunique() == 1).all().all()


def test_ini_and_nnrti_nearly_exclusive(cohort):
    both = (cohort["Comp. INI"] != "Not Applied") & (cohort["Comp. NNRTI"] != "Not Applied")
    assert both.mean() < 0.02


def test_drugs_constant_for_long_stretches(cohort):
    regimen = grid(cohort.assign(r=regimen_of(cohort)), "r")
    changes = regimen[:, 1:] != regimen[:, :-1]
    assert changes.sum(axis=1).mean() < 1.5            # a switch every few years at most
    assert (changes.sum(axis=1) == 0).mean() > 0.3     # many people keep one regimen throughout


def test_unmeasured_months_carry_the_last_measurement_forward(cohort):
    for value, flag in (("VL", "VL (M)"), ("CD4", "CD4 (M)"), ("Rel CD4", "CD4 (M)")):
        values, measured = grid(cohort, value), grid(cohort, flag)
        assert measured[:, 0].all()                    # baseline visit
        carried = measured[:, 1:] == 0
        assert (values[:, 1:][carried] == values[:, :-1][carried]).all(), value
    # measurement flags travel together (published VL(M)-CD4(M) correlation ~ +0.85)
    assert cohort["VL (M)"].corr(cohort["CD4 (M)"]) > 0.7


def test_suppression_six_months_into_first_regimen(cohort):
    """ART starters (untreated at month 0): share below 50 copies/mL six months after starting.

    Trials of current first-line regimens report ~85-93% below 50 copies at 24-48 weeks and
    observational cohorts ~70-85% (adherence, drop-outs), so a plausible cohort lies in 0.70-0.92.
    """
    drug, vl, vl_measured = grid(cohort, "Drug (M)"), grid(cohort, "VL"), grid(cohort, "VL (M)")
    start = drug.argmax(axis=1)
    starters = np.flatnonzero((drug[:, 0] == 0) & drug.any(axis=1) & (start + 6 < drug.shape[1]))
    assert len(starters) > 300
    assert (vl[starters, start[starters]] > 1000).mean() > 0.9   # viraemic at baseline
    at_six = start[starters] + 6
    measured = vl_measured[starters, at_six] == 1
    suppressed = vl[starters, at_six][measured] < 50
    assert 0.70 <= suppressed.mean() <= 0.92, suppressed.mean()


def test_vl_and_cd4_move_in_opposite_directions(cohort):
    both = cohort[(cohort["VL (M)"] == 1) & (cohort["CD4 (M)"] == 1)]
    logged = both.assign(lv=np.log10(both["VL"]))[["PatientID", "lv", "CD4"]]
    within = logged[["lv", "CD4"]] - logged.groupby("PatientID")[["lv", "CD4"]].transform("mean")
    assert within["lv"].corr(within["CD4"]) < -0.1
    # over a year, CD4 rises for people who stay suppressed and falls for those who stay viraemic
    vl, cd4 = grid(cohort, "VL"), grid(cohort, "CD4")
    suppressed = (vl[:, 12:24] < 50).all(axis=1)
    viraemic = (vl[:, 12:24] > 1000).all(axis=1)
    gain = cd4[:, 24] - cd4[:, 12]
    assert np.median(gain[suppressed]) > 20 and np.median(gain[viraemic]) < 0


def test_rel_cd4_tracks_cd4(cohort):
    assert cohort["CD4"].corr(cohort["Rel CD4"]) > 0.6


def test_switches_follow_rebounds(cohort):
    regimen = grid(cohort.assign(r=regimen_of(cohort)), "r")
    vl = np.where(grid(cohort, "VL (M)") == 1, grid(cohort, "VL"), 0.0)
    drug = grid(cohort, "Drug (M)")
    patients, months = np.nonzero(regimen[:, 1:] != regimen[:, :-1])
    months = months + 1
    window = np.stack([vl[patients, np.maximum(months - k, 0)] for k in (1, 2, 3)])
    after_rebound = (window > 500).any(axis=0).mean()
    base_rate = (vl[drug == 1] > 500).mean()
    assert len(patients) > 500
    assert after_rebound > 0.3 and after_rebound > 5 * base_rate, (after_rebound, base_rate)


def test_switch_after_failure_changes_drug_class(cohort):
    """Resistance: after a measured rebound the new regimen shares no anchor class with the old."""
    classes = ((cohort["Comp. INI"] != "Not Applied").astype(int)
               + 2 * (cohort["Comp. NNRTI"] != "Not Applied").astype(int)
               + 4 * ((cohort["Extra PI"] != "Not Applied") | cohort["Base Drug Combo"].str.startswith("DRV")).astype(int))
    anchor, regimen = grid(cohort.assign(c=classes), "c"), grid(cohort.assign(r=regimen_of(cohort)), "r")
    vl = np.where(grid(cohort, "VL (M)") == 1, grid(cohort, "VL"), 0.0)
    patients, months = np.nonzero(regimen[:, 1:] != regimen[:, :-1])
    keeps_class = (anchor[patients, months + 1] & anchor[patients, months]) != 0
    after_rebound = vl[patients, months] > 500
    assert after_rebound.sum() > 200
    assert keeps_class[after_rebound].mean() < 0.05 < keeps_class[~after_rebound].mean()


def test_same_seed_same_table_other_seed_other_table():
    first = simulate_hiv_cohort(n_patients=40, seed=3, n_months=24)
    pd.testing.assert_frame_equal(first, simulate_hiv_cohort(n_patients=40, seed=3, n_months=24))
    assert not first.equals(simulate_hiv_cohort(n_patients=40, seed=4, n_months=24))
    assert len(first) == 40 * 24


@pytest.mark.parametrize("arguments", [{"n_patients": 0}, {"n_months": -1}, {"seed": -2}, {"n_patients": 2.5}])
def test_bad_arguments_raise_a_clear_error(arguments):
    with pytest.raises(HGymError, match=next(iter(arguments))):
        simulate_hiv_cohort(**arguments)


@pytest.mark.parametrize("name", ["cohort.csv", "cohort.parquet"])
def test_command_line_writes_a_table_that_round_trips(tmp_path, name, capsys):
    out = tmp_path / name
    assert main(["demo", "--patients", "12", "--seed", "5", "--out", str(out)]) == 0
    assert "720 rows" in capsys.readouterr().out
    pd.testing.assert_frame_equal(read_table(out), simulate_hiv_cohort(n_patients=12, seed=5))


def test_command_line_refuses_unknown_extension(tmp_path, capsys):
    assert main(["demo", "--patients", "5", "--out", str(tmp_path / "cohort.txt")]) == 2
    assert ".parquet" in capsys.readouterr().err


def test_the_cohorts_schema_encodes_the_published_37_features(hiv_cohort):
    """3 Box-Cox numbers and 34 one-hot features (HEALTH_GYM_V1.md): inference would mark the
    simulated VL and CD4 held until changed, which adds blocks the published model does not have."""
    schema = hiv_schema(hiv_cohort)
    assert not any(v.held or v.points for v in schema.variables)
    assert Encoder.fit(hiv_cohort, schema).n_features == 37


def test_the_long_tailed_cohort_is_seeded_and_its_follow_up_is_mostly_short_with_a_long_tail():
    table = simulate_long_tailed_cohort(n_patients=3000, seed=5)
    assert table.equals(simulate_long_tailed_cohort(n_patients=3000, seed=5))
    assert not table.equals(simulate_long_tailed_cohort(n_patients=3000, seed=6))
    months = table.groupby("PatientID").size()
    assert months.index.tolist() == list(range(3000)) and months.tolist() == follow_up_months(3000, 5).tolist()
    assert list(table.columns) == HIV_COLUMNS
    assert (table.groupby("PatientID")["Timestep"].apply(lambda t: (t.to_numpy() == np.arange(len(t))).all())).all()
    # The documented shape: most short (median 8-11), 1-2.5% followed for five years or more, none beyond the cap.
    assert 8 <= months.median() <= 11 and 0.01 <= (months >= 60).mean() <= 0.025
    assert months.max() == MAX_FOLLOW_UP and months.min() >= 1
    many = follow_up_months(100_000, seed=0)
    assert 80 <= np.quantile(many, 0.99) <= 95 and many.max() == MAX_FOLLOW_UP


def test_the_long_tailed_cohort_refuses_sizes_beyond_its_limit():
    with pytest.raises(HGymError, match="200,000"):
        simulate_long_tailed_cohort(n_patients=MAX_LONG_TAILED_PATIENTS + 1)


def test_demo_command_writes_the_long_tailed_cohort(tmp_path, capsys):
    out = tmp_path / "long.csv"
    assert main(["demo", "--follow-up", "varying", "--patients", "300", "--seed", "5", "--out", str(out)]) == 0
    written = read_table(out)
    assert written.groupby("PatientID").size().tolist() == follow_up_months(300, 5).tolist()
    assert "300 simulated patients with 1 to" in capsys.readouterr().out
