"""Health Gym v1 generator and critic (HEALTH_GYM_V1.md, "Model"), and the options beyond it.

Both published networks keep their recurrent weights in one bidirectional ``torch.nn.LSTM`` and
run it in one of two ways over the *same* parameters:

- ``torch.nn.LSTM`` itself (cuDNN on a GPU, oneDNN on the CPU) wherever only first-order
  gradients are needed: the generator, D(real), D(fake) and D(G(z)). Its bidirectional
  outputs are aligned in time, which is the generator's intended design.
- ``bidirectional_lstm_final_states``, a loop over time built from differentiable tensor ops,
  for the critic inside the gradient penalty, which differentiates the critic's input
  gradient again (create_graph): cuDNN's LSTM has no double backward.

Why these and not torch.compile or oneDNN's own double backward: docs/SPEED.md (measured).
The plain, published-style code lives in ``hgym_core.gan.reference`` ("the paper"); each optimised
line below says, as "paper form:", which published operation it computes, and tests check that
both agree. Beyond the paper (TrainConfig options, off in the published preset): the static-head
generator and static critic (DoppelGANger), the MLP critic, Gumbel-softmax blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hgym_core.data.encoding import LENGTH, PRESENT, EncodedCohort, Span
from hgym_core.errors import HGymError
from hgym_core.gan.label_hold import LabelHold
from hgym_core.gan.values import ValueStructure


LEAKY_SLOPE = 0.1


def check_spans(spans: Sequence[Span]) -> int:
    """Return the feature count after checking that spans tile [0, F) in order, reals first."""
    if not spans:
        raise HGymError("The encoded data has no variables; add at least one variable to the schema.")
    position, seen_block = 0, False
    for span in spans:
        if span.start != position or span.end <= span.start:
            raise HGymError(
                f"Encoded column '{span.name}' covers [{span.start}, {span.end}) but should start at {position}; "
                "rebuild the encoder from the schema."
            )
        if span.kind == "real":
            if span.end - span.start != 1 or seen_block:
                raise HGymError(
                    f"Numeric column '{span.name}' must be one feature placed before all one-hot blocks; "
                    "rebuild the encoder from the schema."
                )
        elif span.kind in ("bin", "cat"):
            if span.end - span.start != span.n_classes or span.n_classes < 2:
                raise HGymError(
                    f"Column '{span.name}' has {span.n_classes} classes but {span.end - span.start} one-hot features; "
                    "rebuild the encoder from the schema."
                )
            seen_block = True
        else:
            raise HGymError(f"Column '{span.name}' has unknown kind '{span.kind}'; expected real, bin or cat.")
        position = span.end
    return position


class OutputHead(nn.Module):
    """Sigmoid on the real columns, softmax within each one-hot block.

    Blocks of equal width are softmaxed together as one [..., n_blocks, width] view, so the
    head costs a handful of kernels whatever the number of variables (the HIV cohort has
    13 blocks but only 3 widths).
    """

    def __init__(self, spans: Sequence[Span]):
        super().__init__()
        n_features = check_spans(spans)
        real = [s.start for s in spans if s.kind == "real"]
        widths = sorted({s.n_classes for s in spans if s.kind != "real"})
        groups = [[i for s in spans if s.kind != "real" and s.n_classes == w for i in range(s.start, s.end)] for w in widths]
        order = torch.tensor(real + [i for group in groups for i in group], dtype=torch.long)
        self.register_buffer("real_index", torch.tensor(real, dtype=torch.long), persistent=False)
        self.register_buffer("order", order, persistent=False)
        self.register_buffer("inverse_order", torch.argsort(order), persistent=False)
        self.group_sizes = [len(real)] + [len(g) for g in groups]
        self.widths = widths
        self.n_features = n_features

    def forward(self, logits: Tensor, gumbel: "Gumbel | None" = None, patient: Tensor | None = None) -> Tensor:
        """With ``gumbel`` each block is a Gumbel-softmax draw at its temperature instead of a
        softmax, so the logits carry the class probabilities and the noise picks the class (as CTGAN
        does); a softmax has to push every patient towards one class and stops learning once it is
        saturated (mode collapse on the majority class). ``patient`` [R]: the patient of each row
        when ``logits`` are ragged rows [R, F] (one draw per patient then follows it)."""
        parts = torch.split(logits.index_select(-1, self.order), self.group_sizes, dim=-1)
        outputs = [parts[0].sigmoid()]
        for width, part in zip(self.widths, parts[1:]):
            blocks = part.unflatten(-1, (-1, width))
            if gumbel is not None:
                tau, noise, shape = gumbel.tau, gumbel.noise, blocks.shape
                if gumbel.per_patient and patient is not None:   # ragged rows: one draw per patient
                    u = torch.rand((int(patient.max()) + 1, *shape[1:]), generator=noise, device=noise.device,
                                   dtype=blocks.dtype)[patient]
                else:
                    if gumbel.per_patient and blocks.dim() == 4:   # [B, L, blocks, width]: one draw kept over L
                        shape = (shape[0], 1, *shape[2:])
                    u = torch.rand(shape, generator=noise, device=noise.device, dtype=blocks.dtype)
                blocks = (blocks - torch.log(-torch.log(u.clamp(min=1e-10)))) / tau
            outputs.append(blocks.softmax(dim=-1).flatten(-2))
        return torch.cat(outputs, dim=-1).index_select(-1, self.inverse_order)


class Generator(nn.Module):
    """z [B, L, latent] -> encoded sequences [B, L, F].

    A forward LSTM over z and a second LSTM over z reversed in time, its outputs flipped back
    so that both halves describe the same time step (the intended bidirectional design; the
    published code concatenated them unflipped). ``nn.LSTM(bidirectional=True)`` computes
    exactly this.
    """

    def __init__(self, spans: Sequence[Span], latent_dim: int = 128, hidden_dim: int = 128,
                 gumbel_tau: float | None = None, structure: nn.Module | None = None, steady_labels: bool = False,
                 label_hold: LabelHold | None = None):
        super().__init__()
        self.spans = list(spans)
        self.latent_dim = latent_dim
        self.gumbel_tau = gumbel_tau
        self.steady_labels = steady_labels   # one Gumbel draw per patient (``Gumbel.per_patient``)
        self.label_hold = label_hold         # gan/label_hold.py: labels carried between gates, or None
        self.structure = structure   # gan/values.py: a mode's gate and a held value's hold, or None
        self.lstm = nn.LSTM(latent_dim, hidden_dim, batch_first=True, bidirectional=True)
        self.linear1 = nn.Linear(2 * hidden_dim, hidden_dim)
        self.linear2 = nn.Linear(hidden_dim, hidden_dim)
        self.head = OutputHead(spans)
        # the output units, then one gate unit per held label (LabelHold) when asked for
        self.linear3 = nn.Linear(hidden_dim, self.head.n_features + (label_hold.n_gates if label_hold else 0))

    def sample_noise(self, batch: int, length: int, generator: torch.Generator) -> Tensor:
        """z ~ U(0, 1) of shape [batch, length, latent], drawn from ``generator`` on its device."""
        return uniform_noise(self.linear1.weight, (batch, length, self.latent_dim), generator)

    @torch.no_grad()
    def start_at_marginals(self, means: Tensor) -> None:
        """Start from the data's marginals (``output_biases``); ``means`` [F]: each feature's mean."""
        self.linear3.bias[:self.head.n_features].copy_(output_biases(self.spans, means))

    def start_label_gates(self, cohort: EncodedCohort) -> None:
        """The held labels' gates open at their real change rates (``LabelHold.start_at``)."""
        self.label_hold.start_at(self.linear3, self.head.n_features, cohort)

    def generate(self, batch: int, length: int, noise: torch.Generator) -> Tensor:
        """``batch`` encoded sequences of ``length`` steps [B, L, F], drawing z (then any Gumbel
        noise) from ``noise``."""
        return self(self.sample_noise(batch, length, noise), _gumbel(self.gumbel_tau, noise, self.steady_labels))

    def forward(self, z: Tensor, gumbel: Gumbel | None = None) -> Tensor:
        h, _ = self.lstm(z)
        h = F.leaky_relu(self.linear1(h), LEAKY_SLOPE)
        h = F.leaky_relu(self.linear2(h), LEAKY_SLOPE)
        logits = self.linear3(h)
        out = self.head(logits[..., :self.head.n_features], gumbel)
        if self.label_hold is not None:
            out = self.label_hold(out, logits[..., self.head.n_features:], gumbel and gumbel.noise)
        return out if self.structure is None else self.structure(out)


def bidirectional_lstm_final_states(x: Tensor, lstm: nn.LSTM) -> Tensor:
    """Final hidden states [B, 2H] (forward, reverse) of ``lstm`` over x [B, L, In].

    A loop over time made of ordinary differentiable ops, so it supports double backward on
    every device. It is written for speed with the same maths as nn.LSTM:
    - both directions advance together: [2, B, .] states, one batched matmul per step;
    - the input projection of every step and both directions is one batched matmul;
    - time steps come from ``unbind``, whose backward is one stack; indexing x[:, t] or
      slicing a projection would make every backward step zero-fill and add a full-size
      gradient (work that grows with L squared);
    - the first step skips h @ W_hh because h starts at zero.
    """
    batch, length, _ = x.shape
    H = lstm.hidden_size
    w_ih_t = torch.stack([lstm.weight_ih_l0, lstm.weight_ih_l0_reverse]).transpose(1, 2)  # [2, In, 4H]
    w_hh_t = torch.stack([lstm.weight_hh_l0, lstm.weight_hh_l0_reverse]).transpose(1, 2)  # [2, H, 4H]
    bias = torch.stack([lstm.bias_ih_l0 + lstm.bias_hh_l0, lstm.bias_ih_l0_reverse + lstm.bias_hh_l0_reverse])
    inputs = torch.stack([x, x.flip(1)]).flatten(1, 2)  # [2, B*L, In]; the reverse direction reads time backwards
    projected = torch.baddbmm(bias.unsqueeze(1), inputs, w_ih_t).view(2, batch, length, 4 * H)
    h = c = None
    for step in projected.unbind(2):  # [2, B, 4H]
        gates = step if h is None else torch.baddbmm(step, h, w_hh_t)
        i, f, g, o = gates.chunk(4, dim=-1)  # torch.nn.LSTM's gate order
        # paper form (reference.py, ReferenceLSTM): gates f, i, o sigmoid, candidate a = tanh;
        # s = f·s + i·a; h = o·tanh(s). Here g is the paper's a and c its state s.
        i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
        c = i * g if c is None else f * c + i * g
        h = o * c.tanh()
    return h.transpose(0, 1).reshape(batch, 2 * H)


@dataclass(frozen=True)
class Gumbel:
    """How a generator draws its one-hot blocks: Gumbel-softmax at ``tau`` from ``noise``.

    ``per_patient`` (``steady_labels``): one draw per patient and block, kept over its time steps.
    With fresh noise at every step, a label whose logits sit near a tie between two classes flips
    back and forth from month to month; on the built-in cohort drug regimens switched in 7.8% of
    synthetic months where real ones switch in 1.2%. With one draw per patient a label changes
    only where the generator's logits move, and each step's marginal is still the same draw."""

    tau: float
    noise: torch.Generator
    per_patient: bool = False


def _gumbel(tau: float | None, noise: torch.Generator, per_patient: bool = False) -> Gumbel | None:
    return None if tau is None else Gumbel(tau, noise, per_patient)


def uniform_noise(like: Tensor, shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
    """Health Gym's noise, U(0, 1), in ``like``'s dtype, drawn from ``generator`` on its device."""
    return torch.rand(*shape, generator=generator, device=generator.device, dtype=like.dtype)


def packed(spans: Sequence[Span]) -> list[Span]:
    """The same spans (in order) laid out from feature 0: the layout of a part of the features."""
    out, start = [], 0
    for span in spans:
        out.append(replace(span, start=start, end=start + span.n_classes))
        start += span.n_classes
    return out


def feature_index(spans: Sequence[Span]) -> list[int]:
    return [i for span in spans for i in range(span.start, span.end)]


def output_biases(spans: Sequence[Span], means: Tensor) -> Tensor:
    """Output-layer biases that make an untrained generator emit the data's marginals: for each
    one-hot block the log of its classes' shares, for each real the logit of its mean code. A
    generator started there need not first climb out of one class (it used to begin with every
    patient two rows long), so the seconds of a time budget go into the joint structure."""
    bias = torch.empty(len(means), dtype=means.dtype)
    for span in spans:
        # Classes the data never has share at most 1e-4 in all: a length block of hundreds of
        # classes would otherwise draw a patient of a random length into every batch.
        floor = 1e-4 / span.n_classes
        part = means[span.start:span.end].clamp(floor, 1 - floor)
        bias[span.start:span.end] = part.logit() if span.kind == "real" else part.log() - part.log().mean()
    return bias


def _mlp(width_in: int, hidden_dim: int, width_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(width_in, hidden_dim), nn.LeakyReLU(LEAKY_SLOPE),
                         nn.Linear(hidden_dim, hidden_dim), nn.LeakyReLU(LEAKY_SLOPE),
                         nn.Linear(hidden_dim, width_out))


class StaticHeadGenerator(nn.Module):
    """Static variables once per patient, then the sequence conditioned on them (DoppelGANger's
    attribute generator, on Health Gym's sequence generator).

    A static head (two LeakyReLU layers over z_s ~ U(0, 1)) emits the static spans: static
    variables, the first visit's time and, when lengths vary, the ``__length__`` block. Each step
    of the sequence generator (Health Gym's bidirectional LSTM and dense layers) reads its own
    noise z_t and the static values, and emits the time-varying spans. ``__present__`` is not
    generated but follows from the length: row t is present when t < the patient's rows, so a
    synthetic patient's rows never stop and restart, and its length is one draw per patient.
    """

    def __init__(self, spans: Sequence[Span], latent_dim: int = 128, hidden_dim: int = 128,
                 gumbel_tau: float | None = None, structure: nn.Module | None = None, steady_labels: bool = False,
                 label_hold: LabelHold | None = None):
        super().__init__()
        self.spans = list(spans)
        self.n_features = check_spans(spans)
        self.structure = structure   # gan/values.py: a mode's gate and a held value's hold, or None
        self.label_hold = label_hold   # gan/label_hold.py: labels carried between gates, or None
        self.latent_dim = latent_dim
        self.gumbel_tau = gumbel_tau
        self.steady_labels = steady_labels   # one Gumbel draw per patient for the sequence's labels
        static = [s for s in spans if s.static]
        derived = [s for s in spans if s.name == PRESENT]
        temporal = [s for s in spans if not s.static and s.name != PRESENT]
        if not static or not temporal:
            raise HGymError("The static head needs static and time-varying variables; turn 'static_head' off "
                            "for this schema.")
        self.static_width = sum(s.n_classes for s in static)
        self.static_net = _mlp(latent_dim, hidden_dim, self.static_width)
        self.static_output_spans, self.head_spans = packed(static), packed(temporal)
        self.static_index, self.temporal_index = feature_index(static), feature_index(temporal)
        self.static_output = OutputHead(self.static_output_spans)
        length = next((s for s in packed(static) if s.name == LENGTH), None)
        self.length_span = length if length is not None and derived else None
        self.lstm = nn.LSTM(latent_dim + self.static_width, hidden_dim, batch_first=True, bidirectional=True)
        self.linear1 = nn.Linear(2 * hidden_dim, hidden_dim)
        self.linear2 = nn.Linear(hidden_dim, hidden_dim)
        self.head = OutputHead(self.head_spans)
        # the output units, then one gate unit per held label (LabelHold) when asked for
        self.linear3 = nn.Linear(hidden_dim, self.head.n_features + (label_hold.n_gates if label_hold else 0))
        # Outputs are produced as [temporal | static | present]; this puts them in the span layout.
        order = feature_index(temporal) + feature_index(static) + feature_index(derived)
        self.register_buffer("inverse_order", torch.argsort(torch.tensor(order, dtype=torch.long)), persistent=False)

    @torch.no_grad()
    def start_at_marginals(self, means: Tensor) -> None:
        """Start from the data's marginals (``output_biases``); ``means`` [F]: each feature's mean."""
        self.static_net[-1].bias.copy_(output_biases(self.static_output_spans, means[self.static_index]))
        self.linear3.bias[:self.head.n_features].copy_(output_biases(self.head_spans, means[self.temporal_index]))

    def start_label_gates(self, cohort: EncodedCohort) -> None:
        """The held labels' gates open at their real change rates (``LabelHold.start_at``)."""
        self.label_hold.start_at(self.linear3, self.head.n_features, cohort)

    def generate(self, batch: int, length: int, noise: torch.Generator) -> Tensor:
        """[B, L, F]; draws z_s [B, latent] (and its Gumbel noise), then z [B, L, latent] (and its
        Gumbel noise), from ``noise``."""
        return self.sequences(self.draw_static(batch, noise), length, noise)

    def draw_static(self, batch: int, noise: torch.Generator) -> Tensor:
        """Static values [B, S] of ``batch`` new patients, in the static spans' order (what
        ``StaticCritic.select`` reads off encoded rows)."""
        z = uniform_noise(self.linear1.weight, (batch, self.latent_dim), noise)
        return self.static_output(self.static_net(z), _gumbel(self.gumbel_tau, noise))

    def patient_lengths(self, static: Tensor) -> Tensor | None:
        """Each patient's rows [B] as its static values say (None when lengths do not vary)."""
        if self.length_span is None:
            return None
        return static[:, self.length_span.start:self.length_span.end].argmax(dim=-1) + 1

    def sequences(self, static: Tensor, length: int, noise: torch.Generator) -> Tensor:
        """[B, L, F]: ``length`` steps of the patients with these static values [B, S].

        When the static values hold each patient's length, the network runs over each patient's
        own rows only: the LSTM on a packed sequence (the reverse direction starts at the
        patient's last row), the dense layers and the output head on the present rows; the rows
        after a patient's end repeat its last row, as ``EncodedCohort.padded`` pads real patients.
        So a batch with one long patient costs its rows, not batch x that patient's length, in
        every layer."""
        batch, weight = static.shape[0], self.linear1.weight
        gumbel = _gumbel(self.gumbel_tau, noise, self.steady_labels)
        z = uniform_noise(weight, (batch, length, self.latent_dim), noise)
        repeated = static.unsqueeze(1).expand(batch, length, self.static_width)
        inputs = torch.cat([z, repeated], dim=-1)
        present, derived = None, []
        if self.length_span is None:
            temporal = self._rows_out(self.lstm(inputs)[0], gumbel)
        else:
            # Row t is present when t < the patient's rows (its length class + 1), as decoding
            # reads them. Detached: the length is learnt from the static critic (with the other
            # static values); through the sequence critic it would learn to be short, since every
            # row a patient does not have is one row fewer for that critic to find fault with.
            rows = self.patient_lengths(static.detach()).clamp(max=length)
            packed_rows = nn.utils.rnn.pack_padded_sequence(inputs, rows.cpu(), batch_first=True,
                                                            enforce_sorted=False)
            h, _ = nn.utils.rnn.pad_packed_sequence(self.lstm(packed_rows)[0], batch_first=True, total_length=length)
            steps = torch.arange(length, device=rows.device)
            present = steps[None, :] < rows[:, None]   # [B, L]
            patient = torch.arange(batch, device=rows.device)[:, None].expand(batch, length)[present]
            own_rows = self._rows_out(h[present], gumbel, patient)   # [R, F_t], patient by patient
            starts = torch.cumsum(rows, 0) - rows
            temporal = own_rows[starts[:, None] + torch.minimum(steps[None, :], rows[:, None] - 1)]
            flag = present.to(static.dtype)
            derived = [torch.stack([1.0 - flag, flag], dim=-1)]
        n = self.head.n_features   # the head's outputs; any gate logits follow them
        out = torch.cat([temporal[..., :n], repeated, *derived], dim=-1).index_select(-1, self.inverse_order)
        if self.label_hold is not None:
            out = self.label_hold(out, temporal[..., n:], gumbel and gumbel.noise, present)
        return out if self.structure is None else self.structure(out)

    def _rows_out(self, h: Tensor, gumbel: Gumbel | None, patient: Tensor | None = None) -> Tensor:
        """The dense layers and the output head over LSTM outputs h [..., 2H]; ``patient`` [R]: each
        row's patient when h is a patient's rows one after another [R, 2H]."""
        h = F.leaky_relu(self.linear1(h), LEAKY_SLOPE)
        h = F.leaky_relu(self.linear2(h), LEAKY_SLOPE)
        logits = self.linear3(h)   # the head's, then any gate logits, passed on as they are
        n = self.head.n_features
        return torch.cat([self.head(logits[..., :n], gumbel, patient), logits[..., n:]], dim=-1)


class StaticCritic(nn.Module):
    """The static values of a patient [B, S] -> a score [B] (DoppelGANger's attribute discriminator):
    it judges the joint distribution of the static variables and lengths on its own."""

    def __init__(self, spans: Sequence[Span], hidden_dim: int = 128, pack: int = 1):
        super().__init__()
        static = [s for s in spans if s.static]
        self.register_buffer("index", torch.tensor(feature_index(static), dtype=torch.long), persistent=False)
        self.net = _mlp(pack * len(self.index), hidden_dim, 1)

    def select(self, x: Tensor) -> Tensor:
        """The static features [B, S] of encoded sequences [B, L, F] (they repeat at every step), or
        of encoded rows [B, F]."""
        return (x[:, 0] if x.dim() == 3 else x).index_select(-1, self.index)

    def forward(self, static: Tensor) -> Tensor:
        return self.net(static).squeeze(-1)


def build_generator(spans: Sequence[Span], config, encoder=None) -> nn.Module:
    """The generator ``config`` (a TrainConfig) asks for: Health Gym's, or the static-head one; with
    ``encoder`` (the fitted one) it writes the dose structure the config asks for (gan/values.py)."""
    structure = ValueStructure.of(encoder, config)
    kind = StaticHeadGenerator if config.static_head else Generator
    return kind(spans, config.latent_dim, config.hidden_dim, config.gumbel_tau, structure, config.steady_labels,
                LabelHold.of(encoder, config))


class Critic(nn.Module):
    """Encoded sequences [B, L, F] -> one score per sequence [B].

    Reals pass through; each one-hot block is soft-embedded as x_blk @ E_k; two Linear +
    LeakyReLU(0.1) layers; forward and reverse LSTMs whose final hidden states feed a Linear.
    With ``static_head`` it also owns a ``StaticCritic`` (``self.static``), trained with it.
    """

    def __init__(self, spans: Sequence[Span], hidden_dim: int = 128, static_head: bool = False):
        super().__init__()
        self.n_features = check_spans(spans)
        self.spans = list(spans)
        # Published init: nn.Embedding's N(0, 1).
        self.embeddings = nn.ParameterList(
            [nn.Parameter(torch.randn(s.n_classes, s.embed_dim)) for s in spans if s.kind != "real"]
        )
        embedded_width = sum(1 if s.kind == "real" else s.embed_dim for s in spans)
        self.linear1 = nn.Linear(embedded_width, hidden_dim)
        self.linear2 = nn.Linear(hidden_dim, hidden_dim)
        self.lstm = nn.LSTM(hidden_dim, hidden_dim, batch_first=True, bidirectional=True)
        self.linear3 = nn.Linear(2 * hidden_dim, 1)
        self.static = StaticCritic(spans, hidden_dim) if static_head else None

    def embedding_matrix(self) -> Tensor:
        """[F, E]: identity for the reals, E_k on the diagonal for each block."""
        weight = self.linear1.weight
        n_real = sum(s.kind == "real" for s in self.spans)
        return torch.block_diag(torch.eye(n_real, dtype=weight.dtype, device=weight.device), *self.embeddings)

    def forward(self, x: Tensor, twice_differentiable: bool = False) -> Tensor:
        """Scores [B]; ``twice_differentiable`` picks the loop LSTM the gradient penalty needs."""
        # paper form (reference.py, ReferenceCritic): reals pass through, each one-hot block
        # x_blk @ E_k, concatenated, then linear1. Here: linear1(x @ M) == x @ (W1 M^T)^T with M the
        # block-diagonal embedding_matrix, one small weight product for all of it.
        h = F.leaky_relu(F.linear(x, self.linear1.weight @ self.embedding_matrix().T, self.linear1.bias), LEAKY_SLOPE)
        h = F.leaky_relu(self.linear2(h), LEAKY_SLOPE)
        if twice_differentiable:
            final = bidirectional_lstm_final_states(h, self.lstm)
        else:
            _, (h_n, _) = self.lstm(h)
            final = torch.cat([h_n[0], h_n[1]], dim=-1)
        return self.linear3(final).squeeze(-1)


class SequenceMLPCritic(nn.Module):
    """Encoded sequences [B, T, F] of one fixed length T -> a score [B], by a multilayer perceptron
    over the whole flattened sequence (DoppelGANger's discriminator).

    Far cheaper than the LSTM critic, above all inside the gradient penalty, whose double
    backward an MLP takes natively: on a small table the same seconds buy many times the steps.
    It sees every step at once: a shorter curriculum stage is padded with zeros to the full
    length, for real and generated sequences alike.
    """

    def __init__(self, spans: Sequence[Span], hidden_dim: int, length: int, static_head: bool = False,
                 pack: int = 1):
        super().__init__()
        n_features = check_spans(spans)
        self.n_features = n_features * pack   # PacGAN: ``pack`` patients side by side (wgan.packed)
        self.length = length
        # The ``__length__`` block repeats at every step and says no more than ``__present__`` does
        # step by step; the static critic judges it. Left out here, it costs nothing: on 250-month
        # patients it would be most of the first layer's inputs.
        dropped = {i for s in spans if s.name == LENGTH and static_head for i in range(s.start, s.end)}
        kept = [k * n_features + i for k in range(pack) for i in range(n_features) if i not in dropped]
        self.register_buffer("kept", torch.tensor(kept, dtype=torch.long), persistent=False)
        self.step_width = len(kept)
        width = length * self.step_width
        self.net = nn.Sequential(nn.Linear(width, hidden_dim), nn.LeakyReLU(LEAKY_SLOPE),
                                 nn.Linear(hidden_dim, hidden_dim), nn.LeakyReLU(LEAKY_SLOPE),
                                 nn.Linear(hidden_dim, hidden_dim), nn.LeakyReLU(LEAKY_SLOPE),
                                 nn.Linear(hidden_dim, 1))
        self.static = StaticCritic(spans, hidden_dim, pack) if static_head else None

    def forward(self, x: Tensor, twice_differentiable: bool = False) -> Tensor:
        if x.shape[1] > self.length:
            raise HGymError(f"The MLP critic scores sequences of at most {self.length} steps, not {x.shape[1]}; "
                            "rebuild it for the longest patient.")
        # Zero padding to the full length, without the zeros: only the first layer's weights of the
        # steps present (a batch of short patients costs what its rows cost).
        inputs = (x if self.step_width == x.shape[-1] else x.index_select(-1, self.kept)).flatten(1)
        first = self.net[0]
        h = F.linear(inputs, first.weight[:, :inputs.shape[1]], first.bias)
        return self.net[1:](h).squeeze(-1)


def build_critic(spans: Sequence[Span], config, length: int) -> nn.Module:
    """The critic ``config`` (a TrainConfig) asks for: Health Gym's LSTM critic, or the MLP critic
    over sequences of ``length`` steps."""
    if config.critic == "mlp":
        return SequenceMLPCritic(spans, config.hidden_dim, length, config.static_head, config.pack)
    return Critic(spans, config.hidden_dim, config.static_head)
