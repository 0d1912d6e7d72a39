"""The training options beyond Health Gym v1: each changes what it claims, and nothing else.

Static head, padding hidden from the critic, the averaged generator, the MLP critic, the time
budget, validation with the best generator kept, early stopping, and the presets fitted to the
data. Models are tiny and tables small, so each test takes seconds on the CPU.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from hgym_core.data.encoding import LENGTH, PRESENT, Encoder
from hgym_core.data.schema import Schema
from hgym_core.errors import HGymError
from hgym_core.gan.config import DataSize, TrainConfig, describe_choice, fit_to_data, preset
from hgym_core.gan.models import StaticHeadGenerator, build_critic, build_generator
from hgym_core.gan.trainer import Trainer, update_average
from hgym_core.gan import wgan
from hgym_core.gan.wgan import Padding, correlation_matrix
from hgym_core.synthesizer import Synthesizer, sampling_weights

pytestmark = pytest.mark.usefixtures("one_torch_thread")
SMALL = dict(batch_size=16, hidden_dim=16, latent_dim=8, holdout=0.0, seed=1)


def ragged_table(n_patients: int = 40, seed: int = 0) -> pd.DataFrame:
    """Two static variables, patients of 2 to 6 visits, one lab."""
    rng = np.random.default_rng(seed)
    rows = []
    for patient in range(n_patients):
        sex, age = rng.choice(["F", "M"]), round(float(rng.uniform(20, 80)), 1)
        for visit in range(int(rng.integers(2, 7))):
            rows.append((patient, visit, sex, age, round(float(rng.normal(10, 2)), 1)))
    return pd.DataFrame(rows, columns=["id", "visit", "sex", "age", "lab"])


@pytest.fixture(scope="module")
def ragged():
    table = ragged_table()
    schema = Schema.infer(table)
    encoder = Encoder.fit(table, schema, length_block=True)
    return table, schema, encoder, encoder.encode(table)


def test_the_static_head_generates_static_values_once_and_presence_from_the_length(ragged):
    _, _, encoder, _ = ragged
    generator = StaticHeadGenerator(encoder.spans, latent_dim=8, hidden_dim=16)
    x = generator.generate(32, encoder.max_length, torch.Generator().manual_seed(0))
    static = [i for s in encoder.spans if s.static for i in range(s.start, s.end)]
    assert torch.equal(x[:, :, static], x[:, :1, static].expand_as(x[:, :, static]))   # one value per patient
    present = x[:, :, encoder._span[PRESENT].start + 1]
    length = encoder._span[LENGTH]
    rows = x[:, 0, length.start:length.end].argmax(dim=-1) + 1
    assert torch.equal(present, (torch.arange(encoder.max_length)[None, :] < rows[:, None]).float())
    decoded = encoder.decode(x)   # the decoder reads the same lengths
    assert decoded.groupby("id", sort=False).size().tolist() == rows.long().tolist()
    # The network runs on each patient's own rows; the rows after its end repeat its last row,
    # as real patients are padded (EncodedCohort.padded), all but __present__.
    last = x[torch.arange(32), rows - 1]
    kept = [i for i in range(x.shape[-1]) if i not in range(encoder._span[PRESENT].start, encoder._span[PRESENT].end)]
    after = torch.arange(encoder.max_length)[None, :] >= rows[:, None]
    assert bool(after.any())
    torch.testing.assert_close(x[after][:, kept], last[:, None].expand_as(x)[after][:, kept])


def test_the_static_head_learns_the_joint_of_a_static_value_and_the_length():
    """Women have 2 visits and men 6: the head must draw both lengths and tie each to its sex."""
    rng = np.random.default_rng(0)
    rows = [(patient, visit, sex, round(float(rng.normal(10, 2)), 1))
            for patient, sex in enumerate(["F", "M"] * 32) for visit in range({"F": 2, "M": 6}[sex])]
    table = pd.DataFrame(rows, columns=["id", "visit", "sex", "lab"])
    # 1,000 generator steps (batch 16): over seeds 1-6 the share of women came out 0.44-0.54 and the
    # lengths matched 94-98% (1,600 steps gave no better; 600 let the share of women drift to 0.29).
    config = preset("auto", DataSize(64, 6)).replace(epochs=400, time_budget=None, validation_every=None, memorisation_guard=False,
                                                     gumbel_tau=None, hidden_dim=32, holdout=0.0, seed=1)
    synthetic = Synthesizer(Schema.infer(table), config).fit(table).sample(400, seed=2)
    patients = synthetic.groupby("id").agg(sex=("sex", "first"), visits=("sex", "size"))
    assert set(patients.visits) <= {2, 6} and 0.3 < (patients.sex == "F").mean() < 0.7
    matched = (patients.visits == patients.sex.map({"F": 2, "M": 6})).mean()
    assert matched > 0.8, f"only {matched:.0%} of synthetic patients have their sex's number of visits"


def test_padding_is_hidden_from_the_critic_and_the_correlation(ragged):
    _, _, encoder, cohort = ragged
    padding = Padding.of(encoder.spans)
    masked = padding.apply(cohort.padded())
    absent = cohort.padded()[:, :, encoder._span[PRESENT].start + 1] == 0
    lab = encoder._span["lab"].start
    assert absent.any() and torch.all(masked[:, :, lab][absent] == 0)           # time-varying: zero after the end
    sex = encoder._span["sex"]
    assert torch.equal(masked[:, :, sex.start:sex.end], cohort.padded()[:, :, sex.start:sex.end])   # static: kept
    # The weighted correlation is the plain one over the present rows only.
    present = ~absent
    rows = cohort.padded()[present]
    torch.testing.assert_close(correlation_matrix(masked, padding.weights(cohort.padded())), correlation_matrix(rows),
                               atol=1e-5, rtol=1e-5)


def test_the_average_generator_moves_a_share_of_the_way_each_step():
    average, current = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    before = average.weight.detach().clone()
    update_average(average, current, decay=0.9, updates=1000)
    torch.testing.assert_close(average.weight, 0.9 * before + 0.1 * current.weight.detach())
    update_average(average, current, decay=0.9, updates=0)   # early on it follows the generator closely
    torch.testing.assert_close(average.weight, 0.1 * (0.9 * before + 0.1 * current.weight.detach())
                               + 0.9 * current.weight.detach())


def test_an_averaged_run_samples_from_its_average(ragged):
    table, schema, _, _ = ragged
    synthesizer = Synthesizer(schema, TrainConfig(epochs=3, ema_decay=0.5, **SMALL)).fit(table)
    average = synthesizer.trainer.average
    assert synthesizer.generator is average
    assert not all(torch.equal(a, b) for a, b in zip(average.parameters(), synthesizer.trainer.generator.parameters()))
    state = synthesizer.trainer.state_dict()
    assert sampling_weights(state) is state["average_generator"]


def test_the_mlp_critic_scores_whole_sequences_and_pads_shorter_stages(ragged):
    table, schema, encoder, cohort = ragged
    config = TrainConfig(epochs=2, critic="mlp", curriculum=(2, encoder.max_length), **SMALL)
    critic = build_critic(encoder.spans, config, encoder.max_length)
    assert critic(cohort.padded()[:4]).shape == (4,)
    short = cohort.padded()[:4, :2]
    padded = torch.cat([short, torch.zeros(4, encoder.max_length - 2, encoder.n_features)], dim=1)
    torch.testing.assert_close(critic(short), critic(padded))   # a stage of 2 steps: zeros after them
    synthesizer = Synthesizer(schema, config).fit(table)
    assert synthesizer.trainer.position.step == 2 * 2 * 3   # 2 epochs x 2 lengths x 40 patients in batches of 16


def test_a_time_budget_ends_training_and_counts_resumes(ragged, tmp_path):
    table, schema, _, _ = ragged
    config = TrainConfig(epochs=100_000, time_budget=1.0, **SMALL)
    synthesizer = Synthesizer(schema, config).fit(table, run_dir=tmp_path / "run")
    trainer = synthesizer.trainer
    assert synthesizer.status == "finished" and trainer.seconds >= 1.0 and trainer.position.epoch < 100_000
    assert "time budget" in trainer.end_reason()
    with pytest.raises(HGymError, match="time budget of 1 s is spent"):
        Synthesizer.load(tmp_path / "run").resume(table)
    longer = Synthesizer.load(tmp_path / "run")
    longer.config = longer.config.replace(time_budget=2.0)
    assert longer.resume(table).trainer.seconds >= 2.0   # the first second counts


def test_validation_keeps_the_best_generator_for_sampling_and_early_stop_ends_at_a_plateau(ragged, tmp_path):
    table, schema, _, _ = ragged
    config = TrainConfig(epochs=200, validation_every=3, early_stop=2, **SMALL)
    synthesizer = Synthesizer(schema, config).fit(table, run_dir=tmp_path / "run")
    validator = synthesizer.trainer.validator
    assert synthesizer.trainer.position.epoch < 200 and "stopped improving" in synthesizer.trainer.end_reason()
    assert validator.since_best == 2 and validator.best_step % 3 == 0
    best = validator.best_generator
    assert all(torch.equal(best[name], value) for name, value in synthesizer.generator.state_dict().items())
    loaded = Synthesizer.load(tmp_path / "run")
    assert all(torch.equal(best[name], value) for name, value in loaded.generator.state_dict().items())


def test_validation_draws_nothing_from_the_training_stream(ragged):
    _, _, encoder, cohort = ragged
    plain = Trainer(encoder, cohort, TrainConfig(epochs=2, **SMALL))
    plain.train()
    validated = Trainer(encoder, cohort, TrainConfig(epochs=2, validation_every=2, **SMALL))
    validated.train()
    for a, b in zip(plain.generator.parameters(), validated.generator.parameters()):
        assert torch.equal(a, b)


def test_presets_fit_the_data_and_auto_says_what_it_chose():
    quick = preset("quick", DataSize(patients=200, longest=16))
    assert quick.curriculum == (3, 8, 16)                          # was 10 / 30 / 60: refused on short tables
    assert preset("quick", DataSize(200, 60)).curriculum == (10, 30, 60)
    assert fit_to_data(TrainConfig(), DataSize(300, 5)) == TrainConfig()   # derived curriculum, batch 256 < 300
    assert fit_to_data(TrainConfig(), DataSize(40, 5)).batch_size == 40      # never more than the patients
    small, large = preset("auto", DataSize(47, 20)), preset("auto", DataSize(1600, 60))
    assert (small.batch_size, large.batch_size) == (16, 128) and small.curriculum == (20,)
    assert preset("auto", DataSize(9, 20)).batch_size == 9                 # a batch of 16 was refused on the form
    assert preset("auto", DataSize(47, 20), time_budget=90).time_budget == 90
    assert not preset("auto", DataSize(47, 4, static=False)).static_head   # nothing once per patient
    text = describe_choice("auto", small, DataSize(47, 20))
    assert "47 patients" in text and "batch 16" in text and "10 min" in text
    with pytest.raises(HGymError, match="Unknown preset"):
        preset("fast")


def test_the_published_generator_is_unchanged_unless_asked(ragged):
    _, _, encoder, _ = ragged
    assert type(build_generator(encoder.spans, TrainConfig())).__name__ == "Generator"
    assert type(build_generator(encoder.spans, TrainConfig(static_head=True))).__name__ == "StaticHeadGenerator"


def test_a_step_on_a_long_tailed_table_is_padded_to_its_own_patients_not_the_longest(monkeypatch):
    """One patient of 500 rows and 1,000 of 5: the batches without the long patient stay short."""
    lengths = np.array([500] + [5] * 1000)
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"id": np.repeat(np.arange(len(lengths)), lengths),
                          "t": np.concatenate([np.arange(n) for n in lengths]),
                          "x": rng.gamma(2.0, 3.0, int(lengths.sum())).round(2),
                          "sex": np.repeat(rng.choice(["F", "M"], len(lengths)), lengths)})
    config = preset("auto", DataSize(1001, 500)).replace(batch_size=64, epochs=1, time_budget=None,
                                                         validation_every=None, memorisation_guard=False, holdout=0.0)
    seen = []
    original = wgan.batch_and_fakes

    def recording(generator, real, noise):
        pair = original(generator, real, noise)
        seen.append((int((real.lengths == 500).sum()), pair[0].shape[1], pair[1].shape[1]))
        return pair

    monkeypatch.setattr(wgan, "batch_and_fakes", recording)
    Synthesizer(Schema.infer(table), config).fit(table)
    assert len(seen) == config.n_critic * 16          # 16 batches of at most 64 patients, n_critic steps each
    assert all(real == fake for _, real, fake in seen)   # real and fake judged at one length
    assert all(padded == 500 for long, padded, _ in seen if long)
    short = [padded for long, padded, _ in seen if not long]
    assert np.median(short) == 5 and np.mean(short) < 50, short
