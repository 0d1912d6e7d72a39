"""The plain Health Gym v1 training step, kept as the semantic reference.

Written the way HEALTH_GYM_V1.md describes the published code, on purpose without the speed
work of ``hgym_core.gan.models`` / ``hgym_core.gan.wgan``:
- a Python-loop LSTM cell (input and hidden Linear layers, gates f, i, o sigmoid, candidate
  tanh; s = f·s + i·a; h = o·tanh(s)) that reads each step as ``x[:, t, :]``;
- separate forward and reverse LSTMs; per-block embeddings and softmaxes;
- the generator keeps its graph during critic steps and the critic is not frozen during the
  generator step (the extra gradients are zeroed before use, as in the published loop);
- one ``.item()`` per critic and generator step.

One deliberate difference from the published code: the generator's reverse-LSTM outputs
are flipped back so both directions describe the same time step. HEALTH_GYM_V1.md calls that
alignment the intended design, and the project's Generator implements it; without it the two
could not be compared.

Tests use ``reference_from_project`` to copy a project Generator/Critic into these modules
and check that losses and gradients agree; ``benchmarks/train_step.py`` times both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hgym_core.gan.config import TrainConfig
from hgym_core.gan.models import Critic, Generator, check_spans
from hgym_core.gan.wgan import StepMetrics, correlation_loss, correlation_matrix

if TYPE_CHECKING:
    from hgym_core.data.encoding import Span

# Row order of the reference's fused gate weights versus torch.nn.LSTM's (i, f, g, o).
REFERENCE_GATES_FROM_TORCH = (1, 0, 2, 3)  # reference order: f, i, a (candidate), o


class ReferenceLSTM(nn.Module):
    """One direction, one layer, zero initial state, looped in Python."""

    def __init__(self, input_dim: int, hidden_dim: int):
        super().__init__()
        self.hidden_dim = hidden_dim
        self.i2h = nn.Linear(input_dim, 4 * hidden_dim)
        self.h2h = nn.Linear(hidden_dim, 4 * hidden_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        h = x.new_zeros(x.shape[0], self.hidden_dim)
        s = x.new_zeros(x.shape[0], self.hidden_dim)
        outputs = []
        for t in range(x.shape[1]):
            f_i, i_i, a_i, o_i = self.i2h(x[:, t, :]).chunk(4, dim=1)
            f_h, i_h, a_h, o_h = self.h2h(h).chunk(4, dim=1)
            f = torch.sigmoid(f_i + f_h)
            i = torch.sigmoid(i_i + i_h)
            a = torch.tanh(a_i + a_h)
            o = torch.sigmoid(o_i + o_h)
            s = f * s + i * a
            h = o * torch.tanh(s)
            outputs.append(h.unsqueeze(1))
        return torch.cat(outputs, dim=1), (h, s)


class ReferenceGenerator(nn.Module):
    def __init__(self, spans: Sequence["Span"], latent_dim: int = 128, hidden_dim: int = 128):
        super().__init__()
        self.spans = list(spans)
        self.latent_dim = latent_dim
        self.rnn_f = ReferenceLSTM(latent_dim, hidden_dim)
        self.rnn_r = ReferenceLSTM(latent_dim, hidden_dim)
        self.linear1 = nn.Linear(2 * hidden_dim, hidden_dim)
        self.linear2 = nn.Linear(hidden_dim, hidden_dim)
        self.linear3 = nn.Linear(hidden_dim, check_spans(spans))

    def forward(self, z: Tensor) -> Tensor:
        out_f, _ = self.rnn_f(z)
        out_r, _ = self.rnn_r(z.flip(dims=[1]))
        h = torch.cat((out_f, out_r.flip(dims=[1])), dim=2)  # aligned (see module docstring)
        h = F.leaky_relu(self.linear1(h), 0.1)
        h = F.leaky_relu(self.linear2(h), 0.1)
        logits = self.linear3(h)
        n_real = sum(s.kind == "real" for s in self.spans)
        parts = [torch.sigmoid(logits[..., :n_real])]
        for span in self.spans[n_real:]:
            parts.append(torch.softmax(logits[..., span.start : span.end], dim=-1))
        return torch.cat(parts, dim=-1)


class ReferenceCritic(nn.Module):
    def __init__(self, spans: Sequence["Span"], hidden_dim: int = 128):
        super().__init__()
        check_spans(spans)
        self.spans = list(spans)
        blocks = [s for s in spans if s.kind != "real"]
        self.embedding_layers = nn.ModuleList([nn.Embedding(s.n_classes, s.embed_dim) for s in blocks])
        embedded_width = sum(1 if s.kind == "real" else s.embed_dim for s in spans)
        self.linear1 = nn.Linear(embedded_width, hidden_dim)
        self.linear2 = nn.Linear(hidden_dim, hidden_dim)
        self.rnn_f = ReferenceLSTM(hidden_dim, hidden_dim)
        self.rnn_r = ReferenceLSTM(hidden_dim, hidden_dim)
        self.linear3 = nn.Linear(2 * hidden_dim, 1)

    def forward(self, x: Tensor) -> Tensor:
        """Scores [B, 1], as published."""
        n_real = sum(s.kind == "real" for s in self.spans)
        parts = [x[..., :n_real]]
        for span, embedding in zip(self.spans[n_real:], self.embedding_layers):
            parts.append(x[..., span.start : span.end] @ embedding.weight)
        h = F.leaky_relu(self.linear1(torch.cat(parts, dim=-1)), 0.1)
        h = F.leaky_relu(self.linear2(h), 0.1)
        _, (h_f, _) = self.rnn_f(h)
        _, (h_r, _) = self.rnn_r(h.flip(dims=[1]))
        return self.linear3(torch.cat((h_f, h_r), dim=1))


def _copy_lstm(target_f: ReferenceLSTM, target_r: ReferenceLSTM, source: nn.LSTM) -> None:
    order = list(REFERENCE_GATES_FROM_TORCH)
    for target, suffix in ((target_f, ""), (target_r, "_reverse")):
        for name, linear in (("ih", target.i2h), ("hh", target.h2h)):
            weight = getattr(source, f"weight_{name}_l0{suffix}")
            bias = getattr(source, f"bias_{name}_l0{suffix}")
            linear.weight.copy_(weight.unflatten(0, (4, -1))[order].flatten(0, 1))
            linear.bias.copy_(bias.unflatten(0, (4, -1))[order].flatten(0, 1))


@torch.no_grad()
def reference_from_project(generator: Generator, critic: Critic) -> tuple[ReferenceGenerator, ReferenceCritic]:
    """Reference modules holding exactly the project modules' weights (dtype and device too)."""
    weight = generator.linear1.weight
    ref_g = ReferenceGenerator(generator.spans, generator.latent_dim, generator.lstm.hidden_size)
    ref_g.to(dtype=weight.dtype, device=weight.device)
    _copy_lstm(ref_g.rnn_f, ref_g.rnn_r, generator.lstm)
    for name in ("linear1", "linear2", "linear3"):
        getattr(ref_g, name).load_state_dict(getattr(generator, name).state_dict())

    weight = critic.linear1.weight
    ref_d = ReferenceCritic(critic.spans, critic.lstm.hidden_size).to(dtype=weight.dtype, device=weight.device)
    for layer, table in zip(ref_d.embedding_layers, critic.embeddings):
        layer.weight.copy_(table)
    _copy_lstm(ref_d.rnn_f, ref_d.rnn_r, critic.lstm)
    for name in ("linear1", "linear2", "linear3"):
        getattr(ref_d, name).load_state_dict(getattr(critic, name).state_dict())
    return ref_g, ref_d


def reference_gradient_penalty(
    critic: ReferenceCritic, real: Tensor, fake: Tensor, lambda_gp: float, noise: torch.Generator
) -> Tensor:
    alpha = torch.rand((real.shape[0], 1, 1), generator=noise, device=noise.device, dtype=real.dtype)
    alpha = alpha.expand_as(real)
    interpolated = alpha * real + (1 - alpha) * fake
    scores = critic(interpolated)
    gradients = torch.autograd.grad(
        outputs=scores, inputs=interpolated, grad_outputs=torch.ones_like(scores), create_graph=True, retain_graph=True
    )[0]
    gradients = gradients.reshape(real.shape[0], -1)
    norms = torch.sqrt(torch.sum(gradients**2, dim=1) + 1e-12)
    return lambda_gp * ((norms - 1) ** 2).mean()


def _sample_noise(generator: ReferenceGenerator, batch: int, length: int, noise: torch.Generator) -> Tensor:
    dtype = generator.linear1.weight.dtype
    return torch.rand((batch, length, generator.latent_dim), generator=noise, device=noise.device, dtype=dtype)


def reference_critic_losses(
    generator: ReferenceGenerator, critic: ReferenceCritic, real: Tensor, lambda_gp: float, noise: torch.Generator
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(L_D, GP, mean D(real), mean D(fake)); draws z then α, like ``wgan.critic_losses``."""
    fake = generator(_sample_noise(generator, real.shape[0], real.shape[1], noise))
    d_real = critic(real).mean()
    d_fake = critic(fake).mean()
    with torch.backends.cudnn.flags(enabled=False):
        gp = reference_gradient_penalty(critic, real, fake, lambda_gp, noise)
    return d_fake - d_real + gp, gp, d_real, d_fake


def reference_generator_losses(
    generator: ReferenceGenerator,
    critic: ReferenceCritic,
    batch: int,
    length: int,
    real_corr: Tensor,
    lambda_corr: float,
    corr_cap: bool,
    noise: torch.Generator,
) -> tuple[Tensor, Tensor]:
    """(L_G, L_corr); draws z, then u when capping, like ``wgan.generator_losses``."""
    fake = generator(_sample_noise(generator, batch, length, noise))
    cap = torch.rand((), generator=noise, device=noise.device, dtype=fake.dtype) if corr_cap else None
    corr = correlation_loss(correlation_matrix(fake), real_corr, cap)
    return -critic(fake).mean() + lambda_corr * corr, corr


def reference_iteration(
    generator: ReferenceGenerator,
    critic: ReferenceCritic,
    g_opt: torch.optim.Optimizer,
    d_opt: torch.optim.Optimizer,
    real: Tensor,
    real_corr: Tensor,
    config: TrainConfig,
    noise: torch.Generator,
) -> StepMetrics:
    """The published loop: n_critic critic updates, then one generator update."""
    for _ in range(config.n_critic):
        d_loss, gp, d_real, d_fake = reference_critic_losses(generator, critic, real, config.lambda_gp, noise)
        d_opt.zero_grad()
        d_loss.backward()
        d_opt.step()
        d_values = (d_loss.item(), gp.item(), d_real.item(), d_fake.item())
    g_loss, corr = reference_generator_losses(
        generator, critic, real.shape[0], real.shape[1], real_corr, config.lambda_corr, config.corr_cap, noise
    )
    g_opt.zero_grad()
    g_loss.backward()
    g_opt.step()
    return StepMetrics(*d_values, g_loss.item(), corr.item())
