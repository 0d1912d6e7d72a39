"""Proof that the scores measure what they claim (issue 6), on the small simulated HIV cohort.

Each test breaks one property of the real data on purpose and checks that the scores meant to
see it move, and that the scores meant to ignore it do not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hgym_core.data.demo import simulate_hiv_cohort
from hgym_core.evaluation import EvaluationSettings, evaluate
from hgym_core.data.schema import Schema

pytestmark = pytest.mark.usefixtures("one_torch_thread")

STRUCTURE = EvaluationSettings(groups=("marginals", "relationships", "temporal"))
# One short repetition: enough to separate noise, cheap enough for CI (the default is 3 x up to 300).
QUICK_DETECTION = EvaluationSettings(groups=("detection",), detection_repeats=1, detection_steps=50,
                                     row_detection_rows=2000)
NUMERIC = ("VL", "CD4", "Rel CD4")


@pytest.fixture(scope="module")
def schema(hiv_cohort) -> Schema:
    return Schema.infer(hiv_cohort)


@pytest.fixture(scope="module")
def holdout() -> pd.DataFrame:
    # As many patients as the training table, so the privacy scores compare equal-sized sets in full.
    return simulate_hiv_cohort(n_patients=200, seed=8)


def _variables(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c not in ("PatientID", "Timestep")]


def shuffle_months(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Each patient keeps its own rows (whole patient-months), in a random order of months."""
    rng = np.random.default_rng(seed)
    n_patients, n_months = df["PatientID"].nunique(), df.groupby("PatientID").size().iloc[0]
    order = (np.arange(n_patients)[:, None] * n_months + rng.permuted(np.tile(np.arange(n_months), (n_patients, 1)),
                                                                        axis=1)).ravel()
    out = df.copy()
    out[_variables(df)] = df[_variables(df)].iloc[order].to_numpy()
    return out


def permute_across_patients(df: pd.DataFrame, column: str, seed: int = 0) -> pd.DataFrame:
    """Hand each patient's whole trajectory of one column to another patient."""
    rng = np.random.default_rng(seed)
    n_patients = df["PatientID"].nunique()
    out = df.copy()
    out[column] = df[column].to_numpy().reshape(n_patients, -1)[rng.permutation(n_patients)].ravel()
    return out


def monthly_noise(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """A clearly bad generator: every value drawn independently (from the real pooled values), month by month."""
    rng = np.random.default_rng(seed)
    out = df.copy()
    for column in _variables(df):
        out[column] = df[column].to_numpy()[rng.permutation(len(df))]
    return out


def values(report, name: str) -> dict[str, float]:
    return {s.variable: s.value for s in report.scores if s.name == name}


def test_real_against_itself_is_perfect(hiv_cohort, schema, holdout):
    report = evaluate(hiv_cohort, hiv_cohort.sample(frac=1.0, random_state=1), schema, holdout=holdout,
                      settings=STRUCTURE)
    for score in report.scores:
        assert score.value == pytest.approx(score.ideal, abs=1e-9), score
        assert score.verdict == "good"
        assert score.reference is not None
    assert {s.group for s in report.scores} == {"marginals", "relationships", "temporal"}


def test_month_shuffle_breaks_temporal_scores_but_not_marginals(hiv_cohort, schema, holdout):
    report = evaluate(hiv_cohort, shuffle_months(hiv_cohort), schema, holdout=holdout, settings=STRUCTURE)
    for score in report.scores:
        if score.group in ("marginals", "relationships") or score.name == "static constancy":
            assert score.value == pytest.approx(score.ideal, abs=1e-9), score
    lag1 = values(report, "lag-1 autocorrelation difference")
    changes = values(report, "lag-1 change similarity")
    for name in NUMERIC:
        assert lag1[name] > 0.3 > lag1[name] * 0 + report.score("lag-1 autocorrelation difference", name).reference
        assert changes[name] < 0.85
    assert np.mean(list(values(report, "lag-1 switch-rate similarity").values())) < 0.6
    assert report.score("trend correlation similarity").value < report.score("trend correlation similarity").reference
    poor = {s.name for s in report.scores if s.verdict == "poor"}
    assert {"lag-1 autocorrelation difference", "lag-1 change similarity", "lag-1 switch-rate similarity"} <= poor


def test_permuting_a_column_across_patients_breaks_correlation_scores(hiv_cohort, schema):
    report = evaluate(hiv_cohort, permute_across_patients(hiv_cohort, "Rel CD4"), schema, settings=STRUCTURE)
    assert report.score("correlation similarity").value < 0.999
    assert report.score("contingency similarity").value < 0.99
    by_variable = values(report, "variable correlation similarity")
    assert min(by_variable, key=by_variable.get) == "Rel CD4"        # the per-variable score names the culprit
    assert by_variable["Rel CD4"] < 0.97
    correlation = report.details["relationships"]["correlation"]
    i, j = correlation["columns"].index("CD4"), correlation["columns"].index("Rel CD4")
    assert correlation["real"][i, j] - correlation["synthetic"][i, j] > 0.3
    # Within a patient nothing changed: the column's marginal and its temporal scores stay perfect.
    assert report.score("KS complement", "Rel CD4").value == 1.0
    assert report.score("lag-1 autocorrelation difference", "Rel CD4").value == pytest.approx(0.0, abs=1e-12)
    assert report.score("lag-1 change similarity", "Rel CD4").value == 1.0


def test_a_copy_of_the_training_data_is_flagged_by_privacy(hiv_cohort, schema, holdout):
    copied = evaluate(hiv_cohort, hiv_cohort, schema, holdout=holdout, settings=EvaluationSettings(groups=("privacy",)))
    assert copied.score("exact copies").value == 1.0
    assert copied.score("exact copies").reference == 0.0
    assert copied.score("DCR share").value > 0.95
    assert copied.score("membership inference AUC").value > 0.95
    assert {s.verdict for s in copied.scores} == {"poor"}
    assert np.all(np.asarray(copied.details["privacy"]["dcr_train"]) == 0)
    # A fresh cohort from the same simulator memorises nothing.
    fresh = evaluate(hiv_cohort, simulate_hiv_cohort(n_patients=200, seed=9), schema, holdout=holdout,
                     settings=EvaluationSettings(groups=("privacy",)))
    assert fresh.score("exact copies").value == 0.0
    assert fresh.score("DCR share").value < 0.7
    assert fresh.score("membership inference AUC").value < 0.7


def test_independent_noise_per_month_is_detected(hiv_cohort, schema, holdout):
    noise = evaluate(hiv_cohort, monthly_noise(hiv_cohort), schema, settings=QUICK_DETECTION)
    assert noise.score("discriminative score").value > 0.4           # 0.5 is perfectly separable
    assert noise.score("discriminative score").verdict == "poor"
    # Other patients from the same simulator: nothing to detect. (Not the real table itself: a
    # patient in both classes is memorised with opposite labels and then misclassified.)
    same_source = evaluate(hiv_cohort, holdout, schema, settings=QUICK_DETECTION)
    assert same_source.score("discriminative score").value < 0.2
