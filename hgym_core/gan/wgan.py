"""The Health Gym v1 WGAN-GP step (HEALTH_GYM_V1.md, "Training").

``train_iteration`` does ``n_critic`` critic updates on one real batch, then one generator
update with the correlation term. Its losses are built by ``critic_losses`` and
``generator_losses`` so tests can compare them, gradient for gradient, with the plain
reference in ``hgym_core.gan.reference``.

Random draws all come from one ``torch.Generator`` in a fixed order (per critic step: z, then
α; generator step: z, then the cap level u when capping), so a seeded run is repeatable.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from hgym_core.gan.config import TrainConfig
from hgym_core.gan.models import Critic, Generator

# Columns whose centred norm is below this are constant: their correlations are set to 0
# (0/eps instead of 0/0), as the published code does, so they never produce NaN.
CONSTANT_COLUMN_EPS = 1e-8


def correlation_matrix(x: Tensor) -> Tensor:
    """Pearson correlation [F, F] over all B·L rows of x [B, L, F] (or any [..., F]).

    A constant column has a zero centred vector; dividing by max(norm, 1e-8) instead of the
    norm gives it zero correlation with everything, itself included, instead of NaN.
    """
    rows = x.reshape(-1, x.shape[-1])
    centred = rows - rows.mean(dim=0, keepdim=True)
    unit = centred / centred.norm(dim=0, keepdim=True).clamp(min=CONSTANT_COLUMN_EPS)
    return unit.T @ unit


def correlation_loss(fake_corr: Tensor, real_corr: Tensor, cap: Tensor | float | None = None) -> Tensor:
    """Mean absolute difference of two correlation matrices.

    ``cap`` (the blog variant) is a level u in [0, 1] shared by both matrices: each entry
    becomes sign(c)·min(u, |c|) before the difference.
    """
    if cap is not None:
        fake_corr = fake_corr.sign() * fake_corr.abs().clamp(max=cap)
        real_corr = real_corr.sign() * real_corr.abs().clamp(max=cap)
    return (fake_corr - real_corr).abs().mean()


def gradient_penalty(
    critic: Critic, real: Tensor, fake: Tensor, lambda_gp: float, alpha_generator: torch.Generator
) -> Tensor:
    """λ_GP · mean((‖∇_x̂ D(x̂)‖₂ − 1)²), x̂ = α·real + (1 − α)·fake, one α ~ U(0, 1) per sequence.

    The norm is over each whole flattened [L, F] sequence, with 1e-12 inside the square root
    (its gradient at a zero norm stays finite). create_graph=True lets the critic's update
    differentiate through the penalty.
    """
    alpha = torch.rand(
        real.shape[0], 1, 1, generator=alpha_generator, device=alpha_generator.device, dtype=real.dtype
    )
    mixed = (alpha * real + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = critic(mixed, twice_differentiable=True)
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    norms = torch.sqrt(grad.flatten(1).square().sum(dim=1) + 1e-12)
    return lambda_gp * (norms - 1).square().mean()


@dataclass
class StepMetrics:
    """Losses of one iteration (the last critic step and the generator step), as floats."""

    d_loss: float
    gp: float
    d_real: float
    d_fake: float
    g_loss: float
    corr: float

    @property
    def w(self) -> float:
        """D_real − D_fake, the critic's estimate of the Wasserstein distance."""
        return self.d_real - self.d_fake


def critic_losses(
    generator: Generator, critic: Critic, real: Tensor, lambda_gp: float, noise: torch.Generator
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(L_D, GP, mean D(real), mean D(fake)) for one critic update; draws z then α."""
    batch, length, _ = real.shape
    # The critic update never reaches the generator's weights: building no graph for G(z) is
    # the same update for less work.
    with torch.no_grad():
        fake = generator(generator.sample_noise(batch, length, noise))
    # One call scores real and fake together: twice the batch, half the kernel launches.
    scores = critic(torch.cat([real, fake]))
    d_real, d_fake = scores[:batch].mean(), scores[batch:].mean()
    gp = gradient_penalty(critic, real, fake, lambda_gp, noise)
    return d_fake - d_real + gp, gp, d_real, d_fake


def generator_losses(
    generator: Generator,
    critic: Critic,
    batch: int,
    length: int,
    real_corr: Tensor,
    lambda_corr: float,
    corr_cap: bool,
    noise: torch.Generator,
) -> tuple[Tensor, Tensor]:
    """(L_G, L_corr) for one generator update; draws z, then u when capping."""
    fake = generator(generator.sample_noise(batch, length, noise))
    cap = torch.rand((), generator=noise, device=noise.device, dtype=fake.dtype) if corr_cap else None
    corr = correlation_loss(correlation_matrix(fake), real_corr, cap)
    return -critic(fake).mean() + lambda_corr * corr, corr


def train_iteration(
    generator: Generator,
    critic: Critic,
    g_opt: torch.optim.Optimizer,
    d_opt: torch.optim.Optimizer,
    real: Tensor,
    real_corr: Tensor,
    config: TrainConfig,
    noise: torch.Generator,
) -> StepMetrics:
    """config.n_critic critic updates on ``real`` [B, L, F], then one generator update."""
    # cuDNN's LSTM backward refuses to run in eval mode, which a sampler may have left on.
    generator.train()
    critic.train()
    for _ in range(config.n_critic):
        d_loss, gp, d_real, d_fake = critic_losses(generator, critic, real, config.lambda_gp, noise)
        d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        d_opt.step()

    # Frozen critic: the generator's loss still flows through D, but no gradients are
    # accumulated for D's weights, which the next critic step would zero anyway.
    critic.requires_grad_(False)
    try:
        batch, length, _ = real.shape
        g_loss, corr = generator_losses(
            generator, critic, batch, length, real_corr, config.lambda_corr, config.corr_cap, noise
        )
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()
    finally:
        critic.requires_grad_(True)

    # One host sync per iteration.
    values = torch.stack([d_loss, gp, d_real, d_fake, g_loss, corr]).detach().tolist()
    return StepMetrics(*values)
