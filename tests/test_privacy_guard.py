"""The memorisation guard: a generator that copies its training patients is never kept for sampling."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from hgym_core.data.encoding import Encoder
from hgym_core.data.schema import Schema
from hgym_core.evaluation import EvaluationSettings, evaluate
from hgym_core.gan.config import DataSize, TrainConfig, preset
from hgym_core.gan.events import privacy_words
from hgym_core.gan.memorisation import (GUARD_LEVEL, GuardedValidator, MemorisationGuard, permutation_p_value,
                                        validator_for)
from hgym_core.gan.trainer import Hooks
from hgym_core.gan.validation import Validator
from hgym_core.runs.info import RunInfo
from hgym_core.runs.patients import PatientSplit
from hgym_core.synthesizer import Synthesizer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def toy_table(n_patients: int, seed: int, steps: int = 4) -> pd.DataFrame:
    """Patients whose every value is their own (a continuous level and a random arm): a copy of one
    is at distance 0 from it and far from everyone else, so memorising is easy to see."""
    rng = np.random.default_rng(seed)
    level = rng.normal(50.0, 15.0, n_patients)
    return pd.DataFrame({
        "id": np.repeat(np.arange(n_patients) + 1000 * seed, steps),
        "t": np.tile(np.arange(steps), n_patients),
        "x": np.repeat(level, steps) + rng.normal(0.0, 5.0, n_patients * steps),
        "arm": rng.choice(["A", "B", "C"], n_patients * steps),
    })


def toy_schema(table: pd.DataFrame) -> Schema:
    return Schema.infer(table, id_column="id", time_column="t")


class Emitter(nn.Module):
    """A stand-in generator that emits the given encoded patients, one after another."""

    def __init__(self, patients: torch.Tensor, marker: float):
        super().__init__()
        self.marker = nn.Parameter(torch.tensor([marker]))
        self.register_buffer("patients", patients)

    def generate(self, batch: int, length: int, noise: torch.Generator) -> torch.Tensor:
        return self.patients[torch.arange(batch) % len(self.patients), :length]


@pytest.fixture(scope="module")
def split_toy():
    table = toy_table(40, seed=1)
    schema = toy_schema(table)
    split = PatientSplit.of(table["id"].drop_duplicates(), 0.5, seed=0)
    training = table[table["id"].isin(split.train)]
    holdout = table[table["id"].isin(split.holdout)]
    encoder = Encoder.fit(training, schema)
    return schema, encoder, training, holdout


def test_the_guard_keeps_an_earlier_generator_when_a_later_one_copies_training_patients(split_toy):
    schema, encoder, training, holdout = split_toy
    cohort = encoder.encode(training)
    fresh = Emitter(encoder.encode(toy_table(40, seed=2)).padded(), marker=1.0)   # new patients of the same kind
    copier = Emitter(cohort.padded(), marker=2.0)                                 # its own training patients
    guard = MemorisationGuard(encoder, training, holdout, seed=0)
    guarded = GuardedValidator(encoder, cohort, seed=0, every=1, patience=None, guard=guard)
    plain = Validator(encoder, cohort, seed=0, every=1, patience=None)

    assert guarded.validate(fresh, step=1) and plain.validate(fresh, step=1)
    assert not guarded.last.memorises and guarded.last.p_value >= GUARD_LEVEL
    # The copier matches the training patients perfectly: validation alone prefers it...
    assert plain.validate(copier, step=2) and plain.best_step == 2
    # ... the guard sees it sit on its training patients and keeps the earlier generator.
    assert not guarded.validate(copier, step=2)
    assert guarded.last.share == 1.0 and guarded.last.memorises and guarded.last.p_value < GUARD_LEVEL
    assert guarded.best_step == 1 and float(guarded.best_generator["marker"]) == 1.0
    assert guarded.last_loss < guarded.best_loss   # kept although its score is worse
    record = guarded.record()
    assert record["kept_step"] == 1 and record["kept_passed"] and record["flagged_validations"] == 1
    assert "permutation test" in record["test"] and "no memorisation" in record["why"]
    assert "stays kept" in guarded.describe_last() and "memorisation" in guarded.describe_last()
    live = guarded.live()
    assert live["memorises"] and live["kept_step"] == 1 and "memorises: not kept" in privacy_words(live)

    # Its state survives a checkpoint round trip (what a resumed run keeps sampling from).
    again = GuardedValidator(encoder, cohort, seed=0, every=1, patience=None, guard=guard)
    again.load_state_dict(guarded.state_dict())
    assert again.best_step == 1 and again.kept_passed and again.last.memorises and again.flagged == 1


def test_while_every_generator_memorises_the_least_memorising_is_kept_and_the_record_says_so(split_toy):
    schema, encoder, training, holdout = split_toy
    cohort = encoder.encode(training)
    copies = cohort.padded()
    guard = MemorisationGuard(encoder, training, holdout, seed=0)
    guarded = GuardedValidator(encoder, cohort, seed=0, every=1, patience=None, guard=guard)

    def partly_copying(copied: int, marker: float) -> Emitter:   # ``copied`` training patients, then new ones
        new = encoder.encode(toy_table(20 - copied, seed=3)).padded() if copied < 20 else copies[:0]
        return Emitter(torch.cat([copies[:copied], new]), marker)

    assert guarded.validate(partly_copying(20, 1.0), step=1)           # nothing passed yet: kept for now
    assert guarded.last.memorises and not guarded.kept_passed
    assert guarded.validate(partly_copying(15, 2.0), step=2)           # memorises less: kept instead
    assert guarded.last.memorises and guarded.kept.share < 1.0 and guarded.best_step == 2
    assert "every validated generator showed memorisation" in guarded.record()["why"]
    assert "least memorising" in guarded.describe_last()
    assert guarded.validate(partly_copying(5, 3.0), step=3)            # passes: kept, whatever came before
    assert not guarded.last.memorises and guarded.kept_passed and guarded.best_step == 3
    assert not guarded.validate(partly_copying(15, 4.0), step=4)       # memorises again: never kept now
    assert guarded.best_step == 3 and float(guarded.best_generator["marker"]) == 3.0


def test_the_guards_dcr_share_is_the_evaluation_reports(split_toy):
    schema, encoder, training, holdout = split_toy
    synthetic = encoder.decode(encoder.encode(toy_table(30, seed=4)).padded())
    guard = MemorisationGuard(encoder, training, holdout, seed=0)
    check = guard.check_table(synthetic, step=1)
    report = evaluate(training, synthetic, schema, holdout=holdout, settings=EvaluationSettings(groups=("privacy",)))
    assert check.reference == 20 and check.synthetic == 30
    assert check.share == pytest.approx(report.score("DCR share").value)


def test_the_permutation_test_is_calibrated_under_no_memorisation_and_sees_copies():
    rng = np.random.default_rng(0)
    p_values = [permutation_p_value(rng.random((60, 40)), 20, rng)[1] for _ in range(200)]
    assert 0.01 <= np.mean(np.asarray(p_values) < 0.05) <= 0.12          # about 5% false alarms
    distances = rng.random((60, 40))
    distances[:, :20] *= 0.3                                              # every patient nearer training
    share, p = permutation_p_value(distances, 20, rng)
    assert share > 0.75 and p == pytest.approx(1 / 200)


def test_the_guard_is_off_with_no_holdout_and_run_json_says_why(split_toy):
    schema, encoder, training, _ = split_toy
    config = TrainConfig(validation_every=5, memorisation_guard=True)
    validator, note = validator_for(encoder, encoder.encode(training), config, training, None)
    assert type(validator) is Validator and not note["on"] and "no holdout" in note["why"]
    validator, note = validator_for(encoder, encoder.encode(training), TrainConfig(memorisation_guard=True),
                                    training, None)
    assert validator is None and not note["on"] and "validation is off" in note["why"]


def test_auto_turns_the_guard_on_and_a_run_records_and_streams_it(tmp_path):
    table = toy_table(40, seed=5, steps=3)
    schema = toy_schema(table)
    config = preset("auto", DataSize(32, 3, False), 60.0)
    assert config.memorisation_guard and config.validation_every
    config = config.replace(validation_every=3, epochs=3, hidden_dim=8, latent_dim=4, batch_size=16, time_budget=None,
                            cpu_threads=1)
    events = []
    Synthesizer(schema, config).fit(table, tmp_path / "run", Hooks(callbacks=[events.append]))
    guard = RunInfo.read(tmp_path / "run").privacy["memorisation_guard"]
    assert guard["on"] and guard["kept_step"] is not None and guard["last"]["step"] == 6
    assert guard["reference_patients"] == 8 and not RunInfo.read(tmp_path / "run").privacy["differential_privacy"]["on"]
    with_check = [event for event in events if event.privacy]
    assert with_check and with_check[0].step == 3 and "dcr_share" in with_check[0].privacy
    assert json.loads(json.dumps(guard))   # plain JSON
