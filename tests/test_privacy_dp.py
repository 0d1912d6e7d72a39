"""Differential privacy (gan/privacy.py): per-patient gradients with the gradient penalty, clipping,
the private noise stream and exact resume, the stop when epsilon is spent, Opacus's own epsilon."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from hgym_core.data.encoding import Encoder
from hgym_core.data.schema import Schema
from hgym_core.errors import HGymError
from hgym_core.gan import privacy
from hgym_core.gan.config import TrainConfig
from hgym_core.gan.models import build_critic, build_generator
from hgym_core.gan.privacy import PrivateCritic, clip_and_sum, default_delta, per_patient_gradients
from hgym_core.gan.trainer import Hooks
from hgym_core.gan.wgan import Padding
from hgym_core.runs.folder import RunFolder
from hgym_core.runs.info import RunInfo
from hgym_core.synthesizer import Synthesizer

pytestmark = pytest.mark.usefixtures("one_torch_thread")
CLIP = 0.5


def ragged_table(n_patients: int = 40, seed: int = 0) -> pd.DataFrame:
    """Patients of 3 to 6 steps: a number, a time-varying arm and a static sex."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, 7, n_patients)
    rows = int(lengths.sum())
    return pd.DataFrame({
        "id": np.repeat(np.arange(n_patients), lengths),
        "t": np.concatenate([np.arange(n) for n in lengths]),
        "x": rng.gamma(4.0, 10.0, rows).round(1),
        "arm": rng.choice(["A", "B", "C"], rows),
        "sex": np.repeat(rng.choice(["F", "M"], n_patients), lengths),
    })


def bounded_schema(table: pd.DataFrame) -> Schema:
    schema = Schema.infer(table, id_column="id", time_column="t")
    schema.variable("x").min, schema.variable("x").max = 0.0, 150.0   # a public range, not the observed one
    return schema


def dp_config(**changes) -> TrainConfig:
    values = dict(dp_epsilon=4.0, dp_clip=CLIP, epochs=3, batch_size=8, hidden_dim=8, latent_dim=4, critic="mlp",
                  static_head=True, curriculum=(6,), present_rows_only=True, n_critic=2, lambda_corr=0.0,
                  gumbel_tau=0.2, cpu_threads=1, betas=(0.5, 0.9), ema_decay=0.99)
    return TrainConfig(**(values | changes)).validate()


@pytest.fixture(scope="module")
def encoded():
    table = ragged_table(12)
    schema = bounded_schema(table)
    encoder = Encoder.fit(table, schema, length_block=True)
    return encoder, encoder.encode(table)


def critic_and_batch(encoder, cohort, kind: str, outlier: bool = False):
    torch.manual_seed(0)
    config = dp_config(critic=kind)
    critic = build_critic(encoder.spans, config, cohort.max_length)
    generator = build_generator(encoder.spans, config)
    real = cohort.padded(torch.arange(cohort.n_patients), cohort.max_length)
    if outlier:   # far outside anything the critic has seen: its raw gradient is large
        real = real.clone()
        real[0, :, 0] = 40.0
    noise = torch.Generator().manual_seed(1)
    with torch.no_grad():
        fake = generator.generate(len(real), real.shape[1], noise)
    alpha = torch.rand(len(real), 1, 1, generator=noise)
    alpha_static = torch.rand(len(real), 1, generator=noise)
    return critic, real, fake, alpha, alpha_static, Padding.of(encoder.spans)


def one_patient_at_a_time(critic, real, fake, alpha, alpha_static, padding, lambda_gp=10.0):
    """Each patient's gradient by ordinary autograd, the published penalty's way (create_graph)."""
    out = []
    for i in range(len(real)):
        critic.zero_grad()
        x_real, x_fake = padding.apply(real[i:i + 1]), padding.apply(fake[i:i + 1])
        loss = critic(x_fake, twice_differentiable=True).sum() - critic(x_real, twice_differentiable=True).sum()
        mixed = (alpha[i] * x_real + (1 - alpha[i]) * x_fake).requires_grad_(True)
        (g,) = torch.autograd.grad(critic(mixed, twice_differentiable=True).sum(), mixed, create_graph=True)
        loss = loss + lambda_gp * (torch.sqrt(g.square().sum() + 1e-12) - 1) ** 2
        s_real, s_fake = critic.static.select(x_real), critic.static.select(x_fake)
        s_mixed = (alpha_static[i] * s_real + (1 - alpha_static[i]) * s_fake).requires_grad_(True)
        (gs,) = torch.autograd.grad(critic.static(s_mixed).sum(), s_mixed, create_graph=True)
        loss = loss + (critic.static(s_fake).sum() - critic.static(s_real).sum()
                       + lambda_gp * (torch.sqrt(gs.square().sum() + 1e-12) - 1) ** 2)
        loss.backward()
        out.append({name: p.grad.clone() for name, p in critic.named_parameters()})
    return out


@pytest.mark.parametrize("kind", ["mlp", "lstm"])
def test_per_patient_gradients_with_the_penalty_are_each_patients_own(encoded, kind):
    encoder, cohort = encoded
    critic, real, fake, alpha, alpha_static, padding = critic_and_batch(encoder, cohort, kind)
    gradients, terms = per_patient_gradients(critic, real, fake, alpha, alpha_static, 10.0, 1.0, padding)
    expected = one_patient_at_a_time(critic, real, fake, alpha, alpha_static, padding)
    assert set(gradients) == {name for name, _ in critic.named_parameters()}
    assert any(name.startswith("static.") for name in gradients)   # the static critic is private too
    for i, own in enumerate(expected):
        for name, value in own.items():
            torch.testing.assert_close(gradients[name][i], value, rtol=1e-4, atol=1e-6)
    assert terms.shape == (len(real), 4) and torch.isfinite(terms).all()


@pytest.mark.parametrize("kind", ["mlp", "lstm"])
def test_one_patients_contribution_to_a_step_is_bounded_by_the_clip_norm(encoded, kind):
    encoder, cohort = encoded
    critic, real, fake, alpha, alpha_static, padding = critic_and_batch(encoder, cohort, kind, outlier=True)
    gradients, _ = per_patient_gradients(critic, real, fake, alpha, alpha_static, 10.0, 1.0, padding)
    summed, norms = clip_and_sum(gradients, CLIP)
    assert norms[0] > 10 * CLIP   # the outlier's raw gradient is far above the clip norm
    for i in range(len(real)):
        others = torch.arange(len(real)) != i
        without, _ = clip_and_sum({name: g[others] for name, g in gradients.items()}, CLIP)
        difference = torch.sqrt(sum((summed[name] - without[name]).square().sum() for name in summed))
        assert difference <= CLIP * (1 + 1e-5), (i, float(difference))
    # Every per-patient gradient is clipped as a whole, over all parameters of both critics.
    factor = (CLIP / (norms + 1e-6)).clamp(max=1.0)
    clipped = torch.sqrt(sum((factor.view(-1, *[1] * (g.dim() - 1)) * g).flatten(1).square().sum(1)
                             for g in gradients.values()))
    assert (clipped <= CLIP * (1 + 1e-5)).all()


def test_a_private_critic_step_adds_the_calibrated_noise_to_the_clipped_sum(encoded):
    encoder, cohort = encoded
    config = dp_config()
    torch.manual_seed(0)
    critic = build_critic(encoder.spans, config, cohort.max_length)
    generator = build_generator(encoder.spans, config)
    private = PrivateCritic(config, cohort.n_patients, 2, torch.device("cpu"))
    private.stream.manual_seed(5)
    sgd = torch.optim.SGD(critic.parameters(), lr=0.0)   # the gradients, not the update, are checked
    private.critic_step(generator, critic, sgd, cohort, cohort.max_length, Padding.of(encoder.spans))
    noisy = {name: p.grad.clone() * private.plan.expected_batch for name, p in critic.named_parameters()}
    private.stream.manual_seed(5)   # the same draws again, for the sum without its noise
    chosen = torch.rand(cohort.n_patients, generator=private.stream) < private.plan.sample_rate
    clean = private.clipped_sum(generator, critic, cohort, chosen.nonzero().squeeze(1), cohort.max_length,
                                Padding.of(encoder.spans))
    residual = torch.cat([(noisy[name] - clean[name]).flatten() for name in noisy])
    sigma = private.plan.noise_multiplier * CLIP
    assert residual.std().item() == pytest.approx(sigma, rel=0.1)   # N(0, (σ·C)²) on every coordinate
    assert private.steps == 1 and private.accountant.history == [(private.plan.noise_multiplier,
                                                                  private.plan.sample_rate, 1)]


def train(folder, table, schema, config, stop_at=None):
    hooks = Hooks()
    if stop_at is not None:
        hooks = Hooks(callbacks=[lambda event: event.step == stop_at and hooks.stop_event.set()])
    return Synthesizer(schema, config).fit(table, folder, hooks)


@pytest.fixture(scope="module")
def unbroken(tmp_path_factory):
    table = ragged_table(40)
    schema = bounded_schema(table)
    folder = tmp_path_factory.mktemp("dp") / "unbroken"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(privacy, "secret_seed", lambda: 1234)
        synthesizer = train(folder, table, schema, dp_config())
    return table, schema, folder, synthesizer


def test_a_private_run_resumes_bit_exactly_from_its_checkpoint(unbroken, tmp_path, monkeypatch):
    table, schema, folder, synthesizer = unbroken
    monkeypatch.setattr(privacy, "secret_seed", lambda: 1234)
    stopped = train(tmp_path / "stopped", table, schema, dp_config(), stop_at=5)
    assert stopped.status == "stopped" and stopped.trainer.position.step == 5
    Synthesizer.load(tmp_path / "stopped").resume(table)
    whole, resumed = RunFolder(folder).load_checkpoint(), RunFolder(tmp_path / "stopped").load_checkpoint()
    assert whole["position"] == resumed["position"]
    for part in ("generator", "average_generator", "critic"):
        for name, value in whole[part].items():
            assert torch.equal(value, resumed[part][name]), (part, name)
    assert whole["privacy"]["history"] == resumed["privacy"]["history"]
    assert torch.equal(whole["privacy"]["stream"], resumed["privacy"]["stream"])

    # The private stream is seeded apart from the run's public seed: another secret, other weights.
    monkeypatch.setattr(privacy, "secret_seed", lambda: 99)
    other = train(tmp_path / "other", table, schema, dp_config())
    assert not torch.equal(other.trainer.critic.state_dict()["net.0.weight"], whole["critic"]["net.0.weight"])


def test_the_run_stops_when_epsilon_is_spent_and_cannot_train_further(unbroken):
    table, schema, folder, synthesizer = unbroken
    trainer = synthesizer.trainer
    record = RunInfo.read(folder).privacy["differential_privacy"]
    plan = trainer.private.plan
    assert record["steps"] == plan.planned_steps == 3 * trainer.steps_per_epoch * 2
    assert plan.epsilon - privacy.NOISE_TOLERANCE <= record["epsilon_spent"] <= plan.epsilon
    assert trainer.private.spent(2) and "larger dp_epsilon" in trainer.how_to_extend()
    # Asked for more epochs, the run refuses: the next steps would spend more than its epsilon.
    with pytest.raises(HGymError, match=r"privacy budget \(epsilon 4 at delta 1e-05\) is spent.*larger dp_epsilon"):
        Synthesizer.load(folder).resume(table, epochs=6)
    # Short of the budget it trains on.
    trainer.private.accountant.history = [(plan.noise_multiplier, plan.sample_rate, plan.planned_steps - 2)]
    assert not trainer.private.spent(2) and trainer.private.spent(4)


def test_a_run_given_more_epochs_than_its_budget_trains_until_epsilon_is_spent_then_stops(unbroken, tmp_path,
                                                                                          monkeypatch):
    table, schema, folder, _ = unbroken
    monkeypatch.setattr(privacy, "secret_seed", lambda: 1234)
    train(tmp_path / "stopped", table, schema, dp_config(), stop_at=5)
    lines = []
    resumed = Synthesizer.load(tmp_path / "stopped").resume(table, epochs=6, hooks=Hooks(log=lines.append))
    private = resumed.trainer.private
    assert resumed.status == "finished" and private.steps == private.plan.planned_steps
    assert resumed.trainer.position.epoch == 3 and private.epsilon() <= 4.0
    assert any("privacy budget" in line and "training ends here" in line for line in lines)
    assert RunInfo.read(tmp_path / "stopped").epochs_done == 3


def test_the_accountants_epsilon_is_opacus_own_for_the_runs_noise_rate_and_steps(unbroken):
    from opacus.accountants import RDPAccountant
    from opacus.accountants.utils import get_noise_multiplier

    table, schema, folder, synthesizer = unbroken
    record = RunInfo.read(folder).privacy["differential_privacy"]
    patients = synthesizer.trainer.cohort.n_patients
    assert record["patients"] == patients == 32 and record["sample_rate"] == 8 / 32
    assert record["delta"] == default_delta(patients) == 1e-5 and record["delta_rule"].startswith("min(1e-5")
    accountant = RDPAccountant()
    for _ in range(record["steps"]):
        accountant.step(noise_multiplier=record["noise_multiplier"], sample_rate=record["sample_rate"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert accountant.get_epsilon(record["delta"]) == pytest.approx(record["epsilon_spent"], rel=1e-12)
        sigma = get_noise_multiplier(target_epsilon=4.0, target_delta=record["delta"], sample_rate=record["sample_rate"],
                                     steps=record["planned_steps"], accountant="rdp", epsilon_tolerance=0.01)
    assert sigma == record["noise_multiplier"] and record["clip_norm"] == CLIP


def test_delta_defaults_to_the_smaller_of_1e5_and_one_over_patients_to_the_1_1():
    assert default_delta(250) == 1e-5 and default_delta(100_000) == pytest.approx(100_000 ** -1.1)
    assert all(default_delta(n) < 1 / n for n in (2, 10, 1000, 10**7))
    config = dp_config(dp_delta=1e-6)
    assert PrivateCritic(config, 100, 5, torch.device("cpu")).plan.delta == 1e-6


def test_a_budget_too_small_for_the_planned_steps_is_refused_in_words():
    with pytest.raises(HGymError, match="larger dp_epsilon"):
        PrivateCritic(replace(dp_config(), dp_epsilon=1e-4, epochs=5000), 100, 50, torch.device("cpu"))
