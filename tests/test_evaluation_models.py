"""The model-based scores (detection, utility): reproducible for a seed, blind to global RNG state."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hgym_core.data.demo import simulate_hiv_cohort
from hgym_core.evaluation import EvaluationSettings, evaluate
from hgym_core.data.schema import Schema

pytestmark = pytest.mark.usefixtures("one_torch_thread")

MODELS = EvaluationSettings(groups=("detection", "utility"), detection_repeats=2, detection_steps=4,
                            utility_steps=4, row_detection_rows=1000)


@pytest.fixture(scope="module")
def small():
    real = simulate_hiv_cohort(n_patients=40, seed=11)
    return real, simulate_hiv_cohort(n_patients=40, seed=12), Schema.infer(real)


def test_same_seed_same_report_without_touching_global_random_state(small):
    real, synthetic, schema = small
    torch_state, numpy_state = torch.random.get_rng_state(), np.random.get_state()
    first = evaluate(real, synthetic, schema, seed=3, settings=MODELS).to_dict()
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert all(np.array_equal(a, b) for a, b in zip(np.random.get_state(), numpy_state))
    torch.manual_seed(12345)                      # other global state must not matter either
    np.random.seed(999)
    again = evaluate(real, synthetic, schema, seed=3, settings=MODELS).to_dict()
    assert again["scores"] == first["scores"] and again["details"] == first["details"]
    other_seed = evaluate(real, synthetic, schema, seed=4, settings=MODELS).to_dict()
    assert other_seed["details"]["detection"] != first["details"]["detection"]


def test_utility_reference_is_a_real_trained_model_and_notes_say_how_much_was_used(small):
    real, synthetic, schema = small
    report = evaluate(real, synthetic, schema, max_patients=30, settings=MODELS)
    tstr = report.score("TSTR MAE", "VL")
    assert tstr.value > 0 and tstr.reference > 0          # reference exists without a holdout
    detection = report.score("discriminative score")
    assert detection.spread is not None and 0 <= detection.value <= 0.5
    assert any("30 patients per table" in note for note in report.notes)
    assert any("8 real patients" in note for note in report.notes)          # a fifth of 40 kept out
