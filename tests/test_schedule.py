"""The steps a run takes at each curriculum length, their cost, and the time estimate before Start."""

from __future__ import annotations

import pytest

from hgym_core.data.encoding import Encoder
from hgym_core.gan.trainer import Trainer
from hgym_core.runs.estimate import measure_step_costs
from hgym_core.runs.schedule import StepCosts, TrainingSchedule
from tests._pages import TINY, small_dataset

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_the_schedule_is_the_trainers_own_loop():
    dataset = small_dataset()
    encoder = Encoder.fit(dataset.frame, dataset.schema)
    for config in (TINY, TINY.replace(curriculum=None, epochs=3, max_patients=20, batch_size=7)):
        trainer = Trainer(encoder, encoder.encode(dataset.frame), config)
        schedule = TrainingSchedule.plan(config, trainer.cohort.n_patients, encoder.max_length)
        assert schedule.lengths == tuple(trainer.curriculum)
        assert schedule.steps_per_epoch == trainer.steps_per_epoch and schedule.total_steps == trainer.steps_target


def test_steps_left_follow_the_position_in_the_curriculum():
    schedule = TrainingSchedule(lengths=(10, 30, 60), batches=4, epochs=2)   # 24 steps
    assert schedule.steps_left(0) == {10: 8, 30: 8, 60: 8}
    assert schedule.steps_left(5) == {10: 4, 30: 7, 60: 8}    # epoch 1: L=10 done, 1 of 4 at L=30
    assert schedule.steps_left(12) == {10: 4, 30: 4, 60: 4}   # one epoch done
    assert schedule.steps_left(23) == {10: 0, 30: 0, 60: 1} and schedule.steps_left(24) == {10: 0, 30: 0, 60: 0}
    costs = StepCosts({10: 1.0, 60: 6.0})
    assert schedule.seconds_left(12, costs) == 4 * 1.0 + 4 * 3.0 + 4 * 6.0   # L=30 read between 10 and 60
    assert schedule.seconds_left(12, costs, overhead=0.5) == 4 * 1.0 + 4 * 3.0 + 4 * 6.0 + 12 * 0.5
    assert schedule.seconds_left(0, StepCosts({})) is None


def test_lengths_outside_the_measured_ones_scale_with_L():
    assert StepCosts({10: 1.0}).at(60) == 6.0 and StepCosts({20: 2.0, 40: 3.0}).at(10) == 1.0


def test_the_probe_times_real_steps_at_the_shortest_and_longest_length():
    dataset = small_dataset()
    costs = measure_step_costs(dataset.schema, dataset.frame, TINY.replace(curriculum=(5, 7, 10)), (5, 7, 10))
    assert set(costs.measured) == {5, 10} and all(seconds > 0 for seconds in costs.measured.values())


def test_the_probe_builds_the_runs_own_layout_with_the_static_head_on_patients_of_varying_length():
    """The auto preset's static head adds a length block when lengths vary: the probe's encoder needs
    it too, or the generator's layout and the data's differ (an IndexError on the Train page)."""
    from hgym_core.data.schema import Schema
    from hgym_core.gan.config import DataSize, preset
    from tests.test_training_options import ragged_table

    table = ragged_table()
    config = preset("auto", DataSize(40, 6), 60.0).replace(hidden_dim=8, latent_dim=8, cpu_threads=1)
    assert config.static_head
    costs = measure_step_costs(Schema.infer(table), table, config, (6,))
    assert set(costs.measured) == {6}


def test_the_steps_a_time_budget_trains_follow_each_lengths_cost():
    schedule = TrainingSchedule(lengths=(10, 60), batches=2, epochs=3)   # an epoch: 2 x 1 s + 2 x 6 s = 14 s
    costs = StepCosts({10: 1.0, 60: 6.0})
    assert schedule.steps_within(30.0, costs) == 2 * 4 + 2   # two epochs, then both L=10 batches of the third
    assert schedule.steps_within(35.0, costs) == 2 * 4 + 2   # 5 s left: not enough for an L=60 step
    assert schedule.steps_within(1e6, costs) == schedule.total_steps
    assert schedule.steps_within(30.0, costs, overhead=1.0) == 4 + 3   # 18 s an epoch, 12 s left: 2 + 1 steps


def test_the_probe_times_a_batch_drawn_as_training_draws_it_with_the_longest_patient_in_it():
    """On a long-tailed table a batch of the longest patients would time steps padded to hundreds of
    rows, where training's random batches are mostly short: the estimate would be many times too long."""
    import pandas as pd

    from hgym_core.runs.estimate import probe_patients

    rows = pd.Series([5] * 990 + [400] * 10, index=[f"p{i}" for i in range(1000)])
    for seed in range(5):
        chosen = probe_patients(rows, 64, seed)
        assert len(chosen) == 64 and rows.idxmax() in chosen
        assert (rows[list(chosen)] == 400).sum() <= 5   # mostly short, as a random batch is (~0.6 long expected)
    assert probe_patients(rows.iloc[:10], 64, 0) == set(rows.index[:10])   # fewer patients than a batch: all
