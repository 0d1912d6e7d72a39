"""The Health Gym v1 WGAN-GP step (HEALTH_GYM_V1.md, "Training").

``train_iteration`` does ``n_critic`` critic updates on one real batch, then one generator
update with the correlation term. Its losses are built by ``critic_losses`` and
``generator_losses`` so tests can compare them, gradient for gradient, with the plain
reference in ``hgym_core.gan.reference``.

Random draws all come from one ``torch.Generator`` in a fixed order (per critic step: z, then
α; generator step: z, then the cap level u when capping), so a seeded run is repeatable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor, nn

from hgym_core.data.encoding import PRESENT, RealBatch, Span
from hgym_core.gan.config import TrainConfig
from hgym_core.gan.models import Critic, StaticCritic

# Columns whose centred norm is below this are constant: their correlations are set to 0
# (0/eps instead of 0/0), as the published code does, so they never produce NaN.
CONSTANT_COLUMN_EPS = 1e-8


def correlation_matrix(x: Tensor, weights: Tensor | None = None) -> Tensor:
    """Pearson correlation [F, F] over all B·L rows of x [B, L, F] (or any [..., F]).

    ``weights`` [B, L] (or x's leading shape) weigh each row: P(row present), so rows after a
    patient's end count for nothing (0/1 for real data, soft for a generator's). A constant
    column has a zero centred vector; dividing by max(norm, 1e-8) instead of the norm gives it
    zero correlation with everything, itself included, instead of NaN.
    """
    rows = x.reshape(-1, x.shape[-1])
    if weights is None:
        centred = rows - rows.mean(dim=0, keepdim=True)
    else:
        w = weights.reshape(-1, 1)
        mean = (w * rows).sum(dim=0, keepdim=True) / w.sum().clamp(min=CONSTANT_COLUMN_EPS)
        centred = (rows - mean) * w.sqrt()
    unit = centred / centred.norm(dim=0, keepdim=True).clamp(min=CONSTANT_COLUMN_EPS)
    return unit.T @ unit


def real_correlation(cohort, length: int, padding: "Padding | None" = None, chunk: int = 512) -> Tensor:
    """``correlation_matrix`` of every patient's first ``length`` steps (padded as a batch is), summed
    ``chunk`` patients at a time in float64: memory holds one chunk, not patients × L × F. With
    ``padding`` the padded rows weigh nothing and the real ones are as encoded, so only the rows
    patients have (their first ``length``) are read."""
    total = weighted = squares = None
    for first in range(0, cohort.n_patients, chunk):
        index = torch.arange(first, min(first + chunk, cohort.n_patients))
        if padding is None:
            x = cohort.padded(index, length)
        else:
            part = cohort.subset(index)
            position = torch.arange(len(part.rows)) - torch.repeat_interleave(part.starts, part.lengths)
            x = part.rows[(position < length).to(part.rows.device)]
        rows = x.reshape(-1, x.shape[-1]).double()
        w = torch.ones(len(rows), 1, dtype=rows.dtype, device=rows.device)
        parts = (w.sum(), rows.sum(dim=0), rows.T @ rows)
        if total is None:
            total, weighted, squares = parts
        else:
            total, weighted, squares = total + parts[0], weighted + parts[1], squares + parts[2]
    mean = weighted / total.clamp(min=CONSTANT_COLUMN_EPS)
    covariance = squares - total * torch.outer(mean, mean)
    norms = covariance.diagonal().clamp(min=0).sqrt().clamp(min=CONSTANT_COLUMN_EPS)
    return (covariance / torch.outer(norms, norms)).to(cohort.rows.dtype)


class Padding:
    """Rows after a patient's end, hidden from the critic and the correlation loss.

    Real sequences are padded by repeating the last row (``__present__`` absent); a generator
    writes anything there. Multiplying every time-varying feature by P(row present) shows the
    critic zeros in both, so it judges the rows that exist, and the same P weighs rows in the
    correlation loss. Static features and the presence block itself are left as they are.
    """

    def __init__(self, spans: Sequence["Span"], present: "Span"):
        self.channel = present.start + 1   # class 1: present
        masked = torch.zeros(spans[-1].end)
        for span in spans:
            if not span.static and span is not present:
                masked[span.start:span.end] = 1.0
        self.masked = masked

    @classmethod
    def of(cls, spans: Sequence["Span"]) -> "Padding | None":
        present = next((s for s in spans if s.name == PRESENT), None)
        return None if present is None else cls(spans, present)

    def weights(self, x: Tensor) -> Tensor:
        return x[..., self.channel]

    def apply(self, x: Tensor) -> Tensor:
        masked = self.masked.to(device=x.device, dtype=x.dtype)
        return x * (1.0 - masked + masked * self.weights(x).unsqueeze(-1))


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
    critic: Critic, real: Tensor, fake: Tensor, lambda_gp: float, noise: torch.Generator
) -> Tensor:
    """λ_GP · mean((‖∇_x̂ D(x̂)‖₂ − 1)²), x̂ = α·real + (1 − α)·fake, one α ~ U(0, 1) per sequence.

    The norm is over each whole flattened [L, F] sequence, with 1e-12 inside the square root
    (its gradient at a zero norm stays finite). create_graph=True lets the critic's update
    differentiate through the penalty.
    """
    alpha = torch.rand(
        real.shape[0], 1, 1, generator=noise, device=noise.device, dtype=real.dtype
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


def packed(x: Tensor, pack: int) -> Tensor:
    """PacGAN: ``pack`` samples side by side as one, so the critic judges them together and can
    see a generator that makes the same patient again and again (mode collapse). [B, ..., F] ->
    [B // pack, ..., pack·F]; a remainder is left out (a batch smaller than ``pack`` is repeated)."""
    if pack == 1:
        return x
    if x.shape[0] < pack:
        x = x.repeat(math.ceil(pack / x.shape[0]), *([1] * (x.dim() - 1)))
    x = x[: x.shape[0] - x.shape[0] % pack]
    groups = x.reshape(x.shape[0] // pack, pack, *x.shape[1:])   # [B/p, p, ..., F]
    return groups.movedim(1, -2).flatten(-2)                     # [B/p, ..., p·F]


def static_penalty(critic: StaticCritic, real: Tensor, fake: Tensor, lambda_gp: float,
                   noise: torch.Generator) -> Tensor:
    """The gradient penalty of the static critic, on static values [B, S] (one α per patient)."""
    alpha = torch.rand(real.shape[0], 1, generator=noise, device=noise.device, dtype=real.dtype)
    mixed = (alpha * real + (1 - alpha) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return lambda_gp * (torch.sqrt(grad.square().sum(dim=1) + 1e-12) - 1).square().mean()


def draw_fakes(generator: nn.Module, batch: int, length: int, noise: torch.Generator,
               at_least: int = 1) -> Tensor:
    """``batch`` fake sequences of at most ``length`` steps [B, L', F].

    A generator that draws each patient's length first writes only as many steps as its longest
    patient (and at least ``at_least``), so a batch of short patients costs what its rows cost;
    any other writes ``length`` steps. The draws from ``noise`` are those of ``generate``."""
    if getattr(generator, "length_span", None) is None:
        return generator.generate(batch, length, noise)
    static = generator.draw_static(batch, noise)
    steps = min(length, max(at_least, int(generator.patient_lengths(static).max())))
    return generator.sequences(static, steps, noise)


def batch_and_fakes(generator: nn.Module, real: "Tensor | RealBatch", noise: torch.Generator) -> tuple[Tensor, Tensor]:
    """(real [B, L', F], fake [B, L', F]) at one length: a RealBatch padded to the longer of its own
    and its fakes' longest patient (``draw_fakes``); a plain tensor as it is."""
    if isinstance(real, Tensor):
        return real, generator.generate(real.shape[0], real.shape[1], noise)
    if getattr(generator, "length_span", None) is None:   # Health Gym's batches: every patient at L
        return real.at(real.length), generator.generate(len(real.index), real.length, noise)
    fake = draw_fakes(generator, len(real.index), real.length, noise, at_least=real.longest)
    return real.at(fake.shape[1]), fake


def critic_losses(
    generator: nn.Module, critic: Critic, real: Tensor, lambda_gp: float, noise: torch.Generator,
    padding: Padding | None = None, static_weight: float = 1.0, pack: int = 1,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(L_D, GP, mean D(real), mean D(fake)) for one critic update on ``real`` [B, L, F] or a
    RealBatch (``batch_and_fakes``); draws z then α (then the static critic's α). With a static
    critic, L_D adds ``static_weight`` x its own WGAN-GP loss."""
    # The critic update never reaches the generator's weights: building no graph for G(z) is
    # the same update for less work.
    with torch.no_grad():
        real, fake = batch_and_fakes(generator, real, noise)
    if padding is not None:
        real, fake = padding.apply(real), padding.apply(fake)
    static_real = None if critic.static is None else packed(critic.static.select(real), pack)
    static_fake = None if critic.static is None else packed(critic.static.select(fake), pack)
    real, fake = packed(real, pack), packed(fake, pack)
    # One call scores real and fake together: twice the batch, half the kernel launches.
    scores = critic(torch.cat([real, fake]))
    half = real.shape[0]
    d_real, d_fake = scores[:half].mean(), scores[half:].mean()
    gp = gradient_penalty(critic, real, fake, lambda_gp, noise)
    loss = d_fake - d_real + gp
    if critic.static is not None:
        static_scores = critic.static(torch.cat([static_real, static_fake]))
        loss = loss + static_weight * (static_scores[half:].mean() - static_scores[:half].mean()
                                       + static_penalty(critic.static, static_real, static_fake, lambda_gp, noise))
    return loss, gp, d_real, d_fake


def generator_losses(
    generator: nn.Module,
    critic: Critic,
    batch: int,
    length: int,
    real_corr: Tensor,
    lambda_corr: float,
    corr_cap: bool,
    noise: torch.Generator,
    padding: Padding | None = None,
    static_weight: float = 1.0,
    pack: int = 1,
) -> tuple[Tensor, Tensor]:
    """(L_G, L_corr) for one generator update on ``batch`` fakes of at most ``length`` steps
    (``draw_fakes``); draws z, then u when capping. With ``padding`` the correlation counts each row
    by P(present); with a static critic its score joins the loss."""
    fake = draw_fakes(generator, batch, length, noise)
    weights = None
    if padding is not None:
        weights, fake = padding.weights(fake), padding.apply(fake)
    cap = torch.rand((), generator=noise, device=noise.device, dtype=fake.dtype) if corr_cap else None
    corr = correlation_loss(correlation_matrix(fake, weights), real_corr, cap)
    loss = -critic(packed(fake, pack)).mean() + lambda_corr * corr
    if critic.static is not None:
        loss = loss - static_weight * critic.static(packed(critic.static.select(fake), pack)).mean()
    return loss, corr


def train_iteration(
    generator: nn.Module,
    critic: Critic,
    g_opt: torch.optim.Optimizer,
    d_opt: torch.optim.Optimizer,
    real: Tensor | RealBatch,
    real_corr: Tensor,
    config: TrainConfig,
    noise: torch.Generator,
    padding: Padding | None = None,
) -> StepMetrics:
    """config.n_critic critic updates on ``real`` [B, L, F] or a RealBatch, then one generator update."""
    # cuDNN's LSTM backward refuses to run in eval mode, which a sampler may have left on.
    generator.train()
    critic.train()
    for _ in range(config.n_critic):
        d_loss, gp, d_real, d_fake = critic_losses(generator, critic, real, config.lambda_gp, noise, padding,
                                                   config.static_weight, config.pack)
        d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        d_opt.step()

    # Frozen critic: the generator's loss still flows through D, but no gradients are
    # accumulated for D's weights, which the next critic step would zero anyway.
    critic.requires_grad_(False)
    try:
        batch, length = (len(real.index), real.length) if isinstance(real, RealBatch) else real.shape[:2]
        g_loss, corr = generator_losses(
            generator, critic, batch, length, real_corr, config.lambda_corr, config.corr_cap, noise, padding,
            config.static_weight, config.pack,
        )
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()
    finally:
        critic.requires_grad_(True)

    # One host sync per iteration.
    values = torch.stack([d_loss, gp, d_real, d_fake, g_loss, corr]).detach().tolist()
    return StepMetrics(*values)
