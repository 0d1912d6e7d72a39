"""WGAN-GP pieces: correlation matrix and loss, gradient penalty, one training iteration."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from hgym_core.gan.config import TrainConfig
from hgym_core.gan.models import Critic, Generator
from hgym_core.gan.wgan import correlation_loss, correlation_matrix, gradient_penalty, train_iteration
from tests.span_factory import make_spans


def test_correlation_matrix_is_pearson_over_all_rows():
    x = torch.randn(4, 5, 3, dtype=torch.float64)
    x[..., 2] += 0.7 * x[..., 0]
    expected = np.corrcoef(x.reshape(-1, 3).numpy(), rowvar=False)
    np.testing.assert_allclose(correlation_matrix(x).numpy(), expected, atol=1e-12)


def test_constant_columns_get_zero_correlation_and_finite_gradients():
    x = torch.rand(3, 4, 3, dtype=torch.float64)
    x[..., 1] = 0.25
    x.requires_grad_(True)
    corr = correlation_matrix(x)
    assert not torch.isnan(corr).any()
    assert (corr[1] == 0).all() and (corr[:, 1] == 0).all()
    assert corr[0, 0].item() == pytest.approx(1.0)
    (grad,) = torch.autograd.grad(correlation_loss(corr, torch.eye(3, dtype=torch.float64)), x)
    assert torch.isfinite(grad).all()


def test_correlation_loss_mean_absolute_difference_and_cap():
    a = torch.tensor([[1.0, 0.5], [0.5, 1.0]])
    b = torch.tensor([[1.0, -0.5], [-0.5, 1.0]])
    assert correlation_loss(a, b).item() == pytest.approx(0.5)
    # Capped at u = 0.3: a -> [[.3, .3], [.3, .3]], b -> [[.3, -.3], [-.3, .3]].
    assert correlation_loss(a, b, cap=0.3).item() == pytest.approx(0.3)
    assert correlation_loss(a, b, cap=torch.tensor(0.6)).item() == pytest.approx(0.5)


class QuadraticCritic(nn.Module):
    """D(x) = w · ½‖x‖², so ∇_x D = w·x and the penalty has a closed form."""

    def __init__(self, w: float):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w, dtype=torch.float64))

    def forward(self, x, twice_differentiable=False):
        return self.w * 0.5 * x.square().flatten(1).sum(1)


def test_gradient_penalty_matches_hand_computation():
    real = torch.rand(3, 2, 2, dtype=torch.float64)
    fake = torch.rand(3, 2, 2, dtype=torch.float64)
    critic = QuadraticCritic(0.8)
    gp = gradient_penalty(critic, real, fake, 10.0, torch.Generator().manual_seed(4))

    alpha = torch.rand(3, 1, 1, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    mixed = alpha * real + (1 - alpha) * fake
    w, by_hand, d_by_hand = 0.8, 0.0, 0.0
    for sequence in mixed:  # the norm is over the whole flattened [L, F] sequence
        size = math.sqrt(sum(v * v for v in sequence.flatten().tolist()))
        norm = math.sqrt((w * size) ** 2 + 1e-12)
        by_hand += 10.0 * (norm - 1) ** 2 / 3
        d_by_hand += 10.0 * 2 * (norm - 1) * (w * size**2 / norm) / 3
    assert gp.item() == pytest.approx(by_hand, rel=1e-12)
    # create_graph: the penalty is differentiable with respect to the critic's weights.
    gp.backward()
    assert critic.w.grad.item() == pytest.approx(d_by_hand, rel=1e-10)


def test_gradient_penalty_matches_finite_differences_on_a_tiny_critic():
    torch.manual_seed(0)
    spans = make_spans(1, (2,))
    critic = Critic(spans, hidden_dim=3).double()
    real, fake = torch.rand(2, 2, 3, dtype=torch.float64), torch.rand(2, 2, 3, dtype=torch.float64)
    gp = gradient_penalty(critic, real, fake, 10.0, torch.Generator().manual_seed(1))

    alpha = torch.rand(2, 1, 1, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    mixed = alpha * real + (1 - alpha) * fake
    step, penalties = 1e-6, []
    with torch.no_grad():
        for sequence in mixed:
            grad = torch.zeros(sequence.numel(), dtype=torch.float64)
            for i in range(sequence.numel()):
                bump = torch.zeros(sequence.numel(), dtype=torch.float64)
                bump[i] = step
                up = critic((sequence.flatten() + bump).view(1, 2, 3))
                down = critic((sequence.flatten() - bump).view(1, 2, 3))
                grad[i] = (up - down).item() / (2 * step)
            penalties.append((grad.norm() - 1) ** 2)
    assert gp.item() == pytest.approx(10.0 * torch.stack(penalties).mean().item(), rel=1e-6)


class CountingAdam(torch.optim.Adam):
    def __init__(self, params):
        super().__init__(params, lr=1e-2)
        self.steps = 0

    def step(self, closure=None):
        self.steps += 1
        return super().step(closure)


def _train_once(spans, config, seed=0):
    torch.manual_seed(seed)
    generator, critic = Generator(spans, latent_dim=6, hidden_dim=6), Critic(spans, hidden_dim=6)
    real = torch.rand(4, 3, spans[-1].end)
    before = [p.detach().clone() for p in (*generator.parameters(), *critic.parameters())]
    g_opt, d_opt = CountingAdam(generator.parameters()), CountingAdam(critic.parameters())
    metrics = train_iteration(
        generator, critic, g_opt, d_opt, real, correlation_matrix(real), config, torch.Generator().manual_seed(seed)
    )
    after = [p.detach() for p in (*generator.parameters(), *critic.parameters())]
    return metrics, g_opt, d_opt, generator, critic, before, after


def test_train_iteration_updates_both_networks_n_critic_times_then_once():
    config = TrainConfig(n_critic=3)
    metrics, g_opt, d_opt, generator, critic, before, after = _train_once(make_spans(2, (2, 3)), config)
    assert (d_opt.steps, g_opt.steps) == (3, 1)
    names = [f"generator.{n}" for n, _ in generator.named_parameters()] + [f"critic.{n}" for n, _ in critic.named_parameters()]
    # The critic's output bias cancels in mean D(fake) - mean D(real) and the penalty ignores it.
    unmoved = [name for name, b, a in zip(names, before, after) if torch.equal(b, a)]
    assert unmoved == ["critic.linear3.bias"]
    assert all(p.requires_grad for p in critic.parameters()), "the critic must be unfrozen afterwards"
    values = [metrics.d_loss, metrics.gp, metrics.d_real, metrics.d_fake, metrics.g_loss, metrics.corr]
    assert all(isinstance(v, float) and math.isfinite(v) for v in values)
    assert metrics.w == metrics.d_real - metrics.d_fake
    assert metrics.d_loss == pytest.approx(metrics.d_fake - metrics.d_real + metrics.gp, abs=1e-5)


def test_train_iteration_is_repeatable_for_a_seed():
    config = TrainConfig(n_critic=2, corr_cap=True)
    first = _train_once(make_spans(2, (2, 3)), config, seed=3)
    second = _train_once(make_spans(2, (2, 3)), config, seed=3)
    assert first[0] == second[0]
    assert all(torch.equal(a, b) for a, b in zip(first[6], second[6]))


@pytest.mark.parametrize("spans", [make_spans(3, ()), make_spans(0, (2, 4))], ids=["reals only", "blocks only"])
def test_train_iteration_handles_spans_without_blocks_or_without_reals(spans):
    metrics = _train_once(spans, TrainConfig(n_critic=1, corr_cap=True))[0]
    assert all(math.isfinite(v) for v in (metrics.d_loss, metrics.g_loss, metrics.corr))
