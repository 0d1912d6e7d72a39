"""The fast project step gives the plain reference's losses and gradients (HEALTH_GYM_V1.md).

Same weights (copied by reference_from_project), same noise stream, same data: the losses
and every parameter gradient must agree within 1e-4 in float32, and to rounding in float64.
"""

from __future__ import annotations

import copy

import pytest
import torch

from hgym_core.gan.config import TrainConfig
from hgym_core.gan.models import Critic, Generator
from hgym_core.gan.reference import (
    reference_critic_losses,
    reference_from_project,
    reference_generator_losses,
    reference_iteration,
)
from hgym_core.gan.wgan import correlation_matrix, critic_losses, generator_losses, train_iteration
from tests.span_factory import make_spans

SPANS = make_spans(3, (2, 4, 6, 2))
BATCH, LENGTH = 6, 5
TOLERANCE = {torch.float32: 1e-4, torch.float64: 1e-9}


def _models(dtype):
    torch.manual_seed(0)
    generator = Generator(SPANS, latent_dim=8, hidden_dim=8).to(dtype)
    critic = Critic(SPANS, hidden_dim=8).to(dtype)
    real = torch.rand(BATCH, LENGTH, SPANS[-1].end, dtype=dtype)
    return generator, critic, real


def _gradients_in_reference_layout(generator, critic, grads_g, grads_d):
    """Project gradients rearranged like the reference's parameters (gate order, embeddings)."""
    holders = copy.deepcopy(generator), copy.deepcopy(critic)
    with torch.no_grad():
        for holder, grads in zip(holders, (grads_g, grads_d)):
            for parameter, grad in zip(holder.parameters(), grads):
                parameter.copy_(grad)
    ref_g, ref_d = reference_from_project(*holders)
    return list(ref_g.parameters()), list(ref_d.parameters())


def _assert_all_close(actual, expected, tolerance):
    for a, e in zip(actual, expected, strict=True):
        torch.testing.assert_close(a, e, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_critic_losses_and_gradients_match_reference(dtype):
    generator, critic, real = _models(dtype)
    ref_g, ref_d = reference_from_project(generator, critic)
    losses = critic_losses(generator, critic, real, 10.0, torch.Generator().manual_seed(1))
    ref_losses = reference_critic_losses(ref_g, ref_d, real, 10.0, torch.Generator().manual_seed(1))
    tolerance = TOLERANCE[dtype]
    _assert_all_close(losses, ref_losses, tolerance)  # L_D, GP, D_real, D_fake

    grads_d = torch.autograd.grad(losses[0], list(critic.parameters()))
    ref_grads_d = torch.autograd.grad(ref_losses[0], list(ref_d.parameters()))
    zeros_g = [torch.zeros_like(p) for p in generator.parameters()]
    _, expected_layout = _gradients_in_reference_layout(generator, critic, zeros_g, grads_d)
    _assert_all_close(expected_layout, ref_grads_d, tolerance)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("corr_cap", [False, True], ids=["plain", "capped"])
def test_generator_losses_and_gradients_match_reference(dtype, corr_cap):
    generator, critic, real = _models(dtype)
    ref_g, ref_d = reference_from_project(generator, critic)
    real_corr = correlation_matrix(real)
    args = (BATCH, LENGTH, real_corr, 10.0, corr_cap)
    losses = generator_losses(generator, critic, *args, torch.Generator().manual_seed(2))
    ref_losses = reference_generator_losses(ref_g, ref_d, *args, torch.Generator().manual_seed(2))
    tolerance = TOLERANCE[dtype]
    _assert_all_close(losses, ref_losses, tolerance)  # L_G, L_corr

    grads_g = torch.autograd.grad(losses[0], list(generator.parameters()))
    ref_grads_g = torch.autograd.grad(ref_losses[0], list(ref_g.parameters()))
    zeros_d = [torch.zeros_like(p) for p in critic.parameters()]
    expected_layout, _ = _gradients_in_reference_layout(generator, critic, grads_g, zeros_d)
    _assert_all_close(expected_layout, ref_grads_g, tolerance)


def test_full_iteration_with_adam_matches_reference():
    # float64 so Adam's gradient normalisation cannot amplify rounding into visible differences.
    generator, critic, real = _models(torch.float64)
    ref_g, ref_d = reference_from_project(generator, critic)
    config = TrainConfig(n_critic=2, corr_cap=True)
    real_corr = correlation_matrix(real)

    def adam(module):
        return torch.optim.Adam(module.parameters(), lr=config.lr, betas=config.betas)

    for _ in range(2):
        metrics = train_iteration(
            generator, critic, adam(generator), adam(critic), real, real_corr, config, torch.Generator().manual_seed(3)
        )
        ref_metrics = reference_iteration(
            ref_g, ref_d, adam(ref_g), adam(ref_d), real, real_corr, config, torch.Generator().manual_seed(3)
        )
        for name in ("d_loss", "gp", "d_real", "d_fake", "g_loss", "corr"):
            assert getattr(metrics, name) == pytest.approx(getattr(ref_metrics, name), abs=1e-9), name
    expected_g, expected_d = reference_from_project(generator, critic)
    _assert_all_close(list(expected_g.parameters()), list(ref_g.parameters()), 1e-9)
    _assert_all_close(list(expected_d.parameters()), list(ref_d.parameters()), 1e-9)
