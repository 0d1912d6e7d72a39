"""evaluate(..., progress=...): every stage and model-training step in order, fractions up to 1.0, same report."""

from __future__ import annotations

import pytest

from hgym_core.data.demo import simulate_hiv_cohort
from hgym_core.evaluation import EvaluationSettings, evaluate
from hgym_core.data.schema import Schema

pytestmark = pytest.mark.usefixtures("one_torch_thread")

QUICK = EvaluationSettings(detection_repeats=2, detection_steps=4, utility_steps=4, row_detection_rows=1000)


@pytest.fixture(scope="module")
def tables():
    real = simulate_hiv_cohort(n_patients=30, seed=11)
    return real, simulate_hiv_cohort(n_patients=30, seed=12), simulate_hiv_cohort(n_patients=30, seed=13)


def _evaluate(tables, settings, **extra):
    real, synthetic, holdout = tables
    return evaluate(real, synthetic, Schema.infer(real), holdout=holdout, seed=2, settings=settings, **extra)


def test_stages_and_model_steps_come_in_order_with_a_fraction_that_ends_at_one(tables):
    calls = []
    report = _evaluate(tables, QUICK, progress=lambda stage, fraction: calls.append((stage, fraction)))
    stages = [stage.split(":")[0] for stage, _ in calls]
    assert list(dict.fromkeys(stages)) == ["reading the tables", "marginals", "relationships", "temporal",
                                           "detection", "utility", "privacy", "done"]
    assert [stage for stage, _ in calls if stage.startswith("detection:")] == [
        "detection: sequence classifier 1 of 2 (synthetic)", "detection: sequence classifier 2 of 2 (synthetic)",
        "detection: row classifier (synthetic)", "detection: sequence classifier 1 of 2 (holdout)",
        "detection: sequence classifier 2 of 2 (holdout)", "detection: row classifier (holdout)"]
    assert [stage for stage, _ in calls if stage.startswith("utility:")] == [
        "utility: next-step predictor trained on synthetic patients",
        "utility: next-step predictor trained on real patients"]
    fractions = [fraction for _, fraction in calls]
    assert fractions[0] == 0.0 and calls[-1] == ("done", 1.0)
    assert all(a <= b for a, b in zip(fractions, fractions[1:]))
    # The bar moves while the models train, not only between families.
    detection = [fraction for stage, fraction in calls if stage.startswith("detection:")]
    assert all(a < b for a, b in zip(detection, detection[1:]))

    without = _evaluate(tables, QUICK).to_dict()
    assert report.to_dict()["scores"] == without["scores"] and report.to_dict()["details"] == without["details"]


def test_only_the_chosen_families_are_reported_in_their_usual_order(tables):
    calls = []
    _evaluate(tables, EvaluationSettings(groups=("privacy", "marginals")),
              progress=lambda stage, fraction: calls.append((stage, fraction)))
    assert list(dict.fromkeys(stage.split(":")[0] for stage, _ in calls)) == [
        "reading the tables", "marginals", "privacy", "done"]
    assert calls[-1] == ("done", 1.0)
