"""Evaluation building blocks: long tables to patient arrays, and the statistics every score uses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from hgym_core.errors import HGymError
from hgym_core.evaluation._stats import fisher_mean, ks_complement, pearson_matrix, roc_auc
from hgym_core.evaluation._tables import tabulate
from hgym_core.data.schema import Schema, Variable

SCHEMA = Schema("pid", "t", [
    Variable("CD4", "numeric"),
    Variable("Sex", "binary", ["Male", "Female"], static=True),
    Variable("Grade", "categorical", [1, 2, 3]),
])


def table(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["pid", "t", "CD4", "Sex", "Grade"])


def test_rows_become_patient_steps_in_time_order_with_nan_padding():
    real = table([("b", 1, 20.0, "Female", 2), ("a", 0, 1.0, "Male", 1), ("b", 0, 10.0, "Female", 3),
                  ("a", 1, np.nan, "Male", None), ("a", 2, 3.0, "Male", 3)])
    cohort = tabulate({"real": real}, SCHEMA)["real"]
    assert cohort.layout.n_steps == 3
    assert cohort.lengths.tolist() == [3, 2]                      # a, then b
    np.testing.assert_array_equal(cohort.values[1, :, 0], [10.0, 20.0, np.nan])   # b sorted by time, padded
    np.testing.assert_array_equal(cohort.values[0, :, 2], [0, np.nan, 2])        # codes into [1, 2, 3]
    assert cohort.present.tolist() == [[True, True, True], [True, True, False]]
    assert len(cohort.rows()) == 5


def test_labels_match_across_file_types_and_unknown_labels_are_kept():
    real = table([("a", 0, 1.0, "Male", 1), ("a", 1, 1.0, "Male", 2)])
    # A CSV round trip may turn 1 into "1" or 1.0; a generator may invent a label.
    synthetic = table([("x", 0, 1.0, "Male", "1"), ("x", 1, 1.0, "Male", 2.0), ("x", 2, 1.0, "Other", 3)])
    cohorts = tabulate({"real": real, "synthetic": synthetic}, SCHEMA)
    sex = cohorts["real"].layout.columns[1]
    assert sex.labels == ("Male", "Female", "Other")
    np.testing.assert_array_equal(cohorts["synthetic"].values[0, :, 2], [0, 1, 2])
    np.testing.assert_array_equal(cohorts["synthetic"].values[0, :, 1], [0, 0, 2])


def test_missing_column_and_non_numbers_are_named():
    real = table([("a", 0, 1.0, "Male", 1)])
    with pytest.raises(HGymError, match=r"synthetic table lacks column\(s\) \['Grade'\]"):
        tabulate({"real": real, "synthetic": real.drop(columns="Grade")}, SCHEMA)
    bad = real.astype({"CD4": object})
    bad.loc[0, "CD4"] = "high"
    with pytest.raises(HGymError, match="'CD4' of the synthetic table .* 'high'"):
        tabulate({"real": real, "synthetic": bad}, SCHEMA)


def test_irregular_time_adds_the_gap_between_rows():
    schema = Schema("pid", "t", [Variable("CD4", "numeric")], time_mode="irregular")
    real = pd.DataFrame({"pid": [1, 1, 1, 2], "t": [5.0, 7.0, 12.0, 0.5], "CD4": [1.0, 2.0, 3.0, 4.0]})
    cohort = tabulate({"real": real}, schema)["real"]
    assert cohort.layout.names == ["CD4", "t gap"]
    np.testing.assert_array_equal(cohort.values[0, :, 1], [5.0, 2.0, 5.0])
    np.testing.assert_array_equal(cohort.values[1, :, 1], [0.5, np.nan, np.nan])


def test_ks_complement_matches_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=300), rng.normal(0.4, 1.2, size=200).round(1)
    assert ks_complement(np.sort(a), np.sort(b)) == pytest.approx(1 - ks_2samp(a, b).statistic)
    assert ks_complement(np.sort(a), np.sort(a)) == 1.0


def test_roc_auc_is_the_share_of_correctly_ordered_pairs():
    rng = np.random.default_rng(2)
    pos, neg = rng.integers(0, 5, 40).astype(float), rng.integers(0, 4, 30).astype(float)
    pairs = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    assert roc_auc(pos, neg) == pytest.approx(pairs.mean())


def test_pearson_matrix_uses_pairwise_complete_rows_and_zero_for_flat_columns():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(500, 4))
    x[:, 1] += x[:, 0]
    x[:, 3] = 7.0
    x[rng.random(500) < 0.3, 2] = np.nan
    expected = pd.DataFrame(x).corr().to_numpy()
    r = pearson_matrix(x)
    np.testing.assert_allclose(r[:3, :3], expected[:3, :3], atol=1e-12)
    assert (r[3, :3] == 0).all() and r[3, 3] == 1


@pytest.mark.parametrize("missing_share", [0.0, 0.2])
def test_pearson_matrix_matches_pandas_at_any_scale_with_missing_values(missing_share):
    # Formerly plots.pairwise_pearson's test: the heatmaps now use pearson_matrix too. A constant
    # column correlates 0 here, where pandas (and the old plots function) gave NaN.
    rng = np.random.default_rng(3)
    values = rng.normal(size=(500, 4)) * [1, 1e5, 1e-3, 1]
    values[:, 1] += 3 * values[:, 0] * 1e5
    values[rng.random((500, 4)) < missing_share] = np.nan
    values[:, 3] = 7.1  # constant: correlation undefined
    expected = pd.DataFrame(values).corr().to_numpy()
    r = pearson_matrix(values)
    np.testing.assert_allclose(r[:3, :3], expected[:3, :3], atol=1e-10)
    assert (r[3, :3] == 0).all() and (r[:3, 3] == 0).all()


def test_fisher_mean_weights_by_n_minus_3_and_ignores_undefined():
    r = np.array([0.5, -0.2, np.nan, 0.9])
    n = np.array([13, 5, 40, 3])            # the last has no weight (n - 3 = 0), the NaN neither
    expected = np.tanh((10 * np.arctanh(0.5) + 2 * np.arctanh(-0.2)) / 12)
    assert fisher_mean(r, n) == pytest.approx(expected)
