"""Dose shapes: point masses and held values are measured from the data alone, on any table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hgym_core.data.schema import Schema, Variable
from hgym_core.evaluation import EvaluationSettings, dose_lines, evaluate
from hgym_core.evaluation.doses import column_decimals, point_masses

SCHEMA = Schema("pid", "t", [Variable("Rate", "numeric"), Variable("CD4", "numeric"),
                             Variable("Arm", "binary", ["A", "B"], static=True)])
STRUCTURE = EvaluationSettings(groups=("marginals", "relationships", "temporal"))


def dosed(n: int, zero_share: float, seed: int, hold: bool = True) -> pd.DataFrame:
    """n patients x 10 steps; Rate is 0 (off) for a share of the patient-steps, else one of a few
    rates with one decimal, held until changed; CD4 is continuous."""
    rng = np.random.default_rng(seed)
    steps = 10
    on = rng.random((n, steps)) >= zero_share
    level = rng.choice([2.5, 5.0, 7.5], size=(n, 1)) if hold else rng.choice([2.5, 5.0, 7.5], size=(n, steps))
    rate = np.where(on, level, 0.0)
    return pd.DataFrame({"pid": np.repeat(np.arange(n), steps), "t": np.tile(np.arange(steps), n),
                         "Rate": rate.ravel(), "CD4": rng.normal(500, 100, n * steps),
                         "Arm": np.repeat(rng.choice(["A", "B"], n), steps)})


def test_point_values_are_exact_values_with_5_percent_of_rows_at_most_5_and_0_first():
    values = np.r_[np.full(200, 7.0), np.repeat([1.0, 2.0, 3.0, 4.0, 5.0], 150), np.zeros(60), np.arange(100) + 0.5]
    masses = point_masses(values)
    assert masses.values == (0.0, 7.0, 1.0, 2.0, 3.0)     # 0 (5.4%) first, then the largest; 5 at most
    assert masses.shares[0] == pytest.approx(60 / len(values))
    assert masses.dose_like and masses.off_value == 0.0
    assert point_masses(np.arange(1000.0)).values == ()        # nothing holds 5%: no point values
    common = point_masses(np.r_[np.full(40, 80.0), np.arange(60.0) + 0.5])
    assert common.dose_like and common.off_value == 80.0       # no 0, but one value holds 40%
    assert not point_masses(np.r_[np.repeat([1.0, 2.0], 10), np.arange(180.0) + 0.5]).dose_like


def test_decimals_are_the_fewest_that_99_percent_of_values_have():
    assert column_decimals(np.array([1.0, 2.0, 30.0])) == 0
    assert column_decimals(np.r_[np.arange(200) * 0.25, np.nan]) == 2
    assert column_decimals(np.r_[np.arange(999) * 0.5, 0.123]) == 1          # one value in 1,000 ignored
    assert column_decimals(np.array([3.0, 2.9999999, 1.0])) == 0             # float noise is no decimal
    assert column_decimals(np.random.default_rng(0).normal(size=100)) == 6


def test_point_mass_share_difference_names_a_spike_the_ks_statistic_blurs():
    real, synthetic = dosed(200, 0.7, seed=0), dosed(200, 0.2, seed=1)
    report = evaluate(real, synthetic, SCHEMA, holdout=dosed(200, 0.7, seed=2), settings=STRUCTURE)
    score = report.score("point-mass share difference", "Rate")
    real_zero, synthetic_zero = (real["Rate"] == 0).mean(), (synthetic["Rate"] == 0).mean()
    masses = report.details["marginals"]["point_masses"]["Rate"]
    assert masses["values"][0] == 0.0 and masses["real"][0] == pytest.approx(real_zero)
    assert masses["synthetic"][0] == pytest.approx(synthetic_zero)
    assert score.value == pytest.approx(max(abs(np.array(masses["real"]) - masses["synthetic"])))
    assert score.value >= abs(real_zero - synthetic_zero) > 0.4
    assert score.group == "marginals" and score.verdict == "poor" and score.reference < 0.1
    assert ("point-mass share difference", "CD4") not in {(s.name, s.variable) for s in report.scores}
    line = dose_lines(report.details)["Rate"][0]
    assert line == f"Rate = 0: real {real_zero:.0%}, synthetic {synthetic_zero:.0%} (holdout {masses['holdout'][0]:.0%})"


def test_float_round_trips_do_not_move_point_masses_or_held_values():
    real = dosed(100, 0.5, seed=3)
    synthetic = real.copy()
    noise = np.random.default_rng(4).choice([-1e-7, 1e-7], len(real))
    synthetic["Rate"] = (synthetic["Rate"] + noise).astype(np.float32).astype(float)   # 2.5 -> 2.5000001
    report = evaluate(real, synthetic, SCHEMA, settings=STRUCTURE)
    assert report.score("point-mass share difference", "Rate").value == 0.0
    assert report.score("held-value share difference", "Rate").value == 0.0
    assert "rounding to the real column's decimals" in report.score("point-mass share difference", "Rate").definition


def test_held_value_share_difference_sees_a_dose_that_is_not_held():
    real, jumpy = dosed(200, 0.0, seed=5, hold=True), dosed(200, 0.0, seed=6, hold=False)
    report = evaluate(real, jumpy, SCHEMA, settings=STRUCTURE)
    held = report.details["temporal"]["held_values"]["Rate"]
    assert held["real"] == 1.0 and held["synthetic"] == pytest.approx(1 / 3, abs=0.05)   # 1 in 3 repeats by chance
    score = report.score("held-value share difference", "Rate")
    assert score.group == "temporal" and score.value == pytest.approx(held["real"] - held["synthetic"])
    assert score.verdict == "poor"
    assert dose_lines(report.details)["Rate"][-1].startswith("Rate held from the previous row: real 100%, synthetic 3")
    assert ("held-value share difference", "Arm") not in {(s.name, s.variable) for s in report.scores}


def test_static_numbers_have_no_point_masses_and_lines_follow_the_schemas_point_values():
    """A static column repeats each patient's one value: a common age is no point mass (issue 24,
    item 9), and the page lists lines only for the values its schema names."""
    real, synthetic = dosed(60, 0.6, seed=1), dosed(60, 0.6, seed=2)
    for table in (real, synthetic):
        table["Age"] = np.repeat(np.random.default_rng(0).choice([30, 40, 50], 60), 10)
    schema = Schema("pid", "t", [*SCHEMA.variables, Variable("Age", "numeric", static=True)])
    report = evaluate(real, synthetic, schema, settings=STRUCTURE)
    assert {s.variable for s in report.scores if s.name == "point-mass share difference"} == {"Rate"}
    lines = dose_lines(report.details)
    assert not any(line.startswith("Age = ") for line in lines.get("Age", []))
    kept = dose_lines(report.details, points={"Rate": [0]})["Rate"]
    assert [line.split(":")[0] for line in kept if " = " in line] == ["Rate = 0"]
