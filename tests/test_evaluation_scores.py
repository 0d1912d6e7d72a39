"""Single scores on small hand-made tables: each one reacts to the property it names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hgym_core.errors import HGymError
from hgym_core.evaluation import EvaluationSettings, evaluate
from hgym_core.evaluation.detection import logistic_auc
from hgym_core.evaluation.temporal import autocorrelation
from hgym_core.data.schema import Schema, Variable

SCHEMA = Schema("pid", "t", [Variable("CD4", "numeric"), Variable("Sex", "binary", ["M", "F"], static=True),
                             Variable("Drug", "categorical", ["A", "B", "C"])])
STRUCTURE = EvaluationSettings(groups=("marginals", "relationships", "temporal"))


def cohort(n: int, length, seed: int) -> pd.DataFrame:
    """n patients; ``length`` is an int or a callable(rng) giving each patient's number of steps."""
    rng = np.random.default_rng(seed)
    frames = []
    for p in range(n):
        steps = length if isinstance(length, int) else length(rng)
        frames.append(pd.DataFrame({"pid": p, "t": np.arange(steps),
                                    "CD4": 500 + np.cumsum(rng.normal(0, 20, steps)),
                                    "Sex": rng.choice(["M", "F"]),
                                    "Drug": rng.choice(["A", "B", "C"])}))
    return pd.concat(frames, ignore_index=True)


def test_marginal_scores_see_shifts_missing_values_and_out_of_range_values():
    real = cohort(60, 6, seed=0)
    synthetic = real.copy()
    synthetic["CD4"] = synthetic["CD4"] + 60                    # part of it beyond the real maximum
    synthetic.loc[synthetic.index[:36], "Drug"] = None          # 10% missing
    synthetic.loc[synthetic.index[36:72], "Drug"] = "D"         # a label the real data never has
    report = evaluate(real, synthetic, SCHEMA, settings=STRUCTURE)
    inside = ((synthetic["CD4"] >= real["CD4"].min()) & (synthetic["CD4"] <= real["CD4"].max())).mean()
    assert report.score("range adherence", "CD4").value == pytest.approx(inside)
    assert report.score("KS complement", "CD4").value < 0.9
    assert report.score("missing-rate similarity", "Drug").value == pytest.approx(0.9)
    assert report.score("range adherence", "Drug").value == pytest.approx(1 - 36 / 324)
    assert report.score("TV complement", "Sex").value == 1.0


def test_sequence_lengths_are_scored_only_when_they_vary():
    real = cohort(80, lambda rng: int(rng.integers(4, 9)), seed=1)
    short = cohort(80, lambda rng: int(rng.integers(2, 5)), seed=2)
    report = evaluate(real, short, SCHEMA, settings=STRUCTURE)
    assert report.score("sequence-length similarity").value < 0.5
    same = evaluate(real, cohort(80, lambda rng: int(rng.integers(4, 9)), seed=3), SCHEMA, settings=STRUCTURE)
    assert same.score("sequence-length similarity").value > 0.8
    fixed = evaluate(cohort(20, 5, seed=4), cohort(20, 5, seed=5), SCHEMA, settings=STRUCTURE)
    assert "sequence-length similarity" not in {s.name for s in fixed.scores}
    assert any("Sequence-length similarity not scored" in note for note in fixed.notes)


def test_static_constancy_counts_patients_whose_static_value_changes():
    real = cohort(40, 5, seed=6)
    synthetic = real.copy()
    flips = synthetic["pid"].lt(10) & synthetic["t"].eq(4)      # 10 of 40 patients change sex at their last step
    synthetic.loc[flips, "Sex"] = synthetic.loc[flips, "Sex"].map({"M": "F", "F": "M"})
    report = evaluate(real, synthetic, SCHEMA, settings=STRUCTURE)
    assert report.score("static constancy", "Sex").value == pytest.approx(0.75)
    assert report.score("static constancy", "Sex").verdict == "poor"


def test_autocorrelation_recovers_an_ar1_coefficient():
    rng = np.random.default_rng(7)
    x = np.zeros((400, 60))
    for t in range(1, 60):
        x[:, t] = 0.8 * x[:, t - 1] + rng.normal(size=400)
    x += rng.normal(0, 5, size=(400, 1))          # per-patient levels: removed by the per-patient mean
    assert autocorrelation(x, 1) == pytest.approx(0.8, abs=0.06)
    padded = x.copy()
    padded[:, 30:] = np.nan                       # shorter patients: padding adds nothing
    assert autocorrelation(padded, 3) == pytest.approx(autocorrelation(x[:, :30], 3), rel=1e-12)


def test_row_detection_sees_a_shift_and_not_a_resample():
    rng = np.random.default_rng(8)
    base = rng.normal(size=(3000, 3))
    assert abs(logistic_auc(base, rng.normal(size=(3000, 3)), rng) - 0.5) < 0.03
    assert logistic_auc(base, rng.normal(size=(3000, 3)) + [0.5, 0, 0], rng) > 0.6


@pytest.mark.parametrize("settings, message", [
    (dict(groups=("marginals", "fidelity")), "Setting 'groups'"),
    (dict(lags=(0,)), "Setting 'lags'"),
    (dict(detection_repeats=0), "Setting 'detection_repeats'"),
])
def test_bad_settings_name_the_setting(settings, message):
    with pytest.raises(HGymError, match=message):
        EvaluationSettings(**settings)


def test_a_utility_target_that_is_not_numeric_is_named():
    real = cohort(20, 5, seed=9)
    with pytest.raises(HGymError, match="'utility_target' is 'Drug'.*choose one of \\['CD4'\\]"):
        evaluate(real, real, SCHEMA, settings=EvaluationSettings(groups=("utility",), utility_target="Drug"))
