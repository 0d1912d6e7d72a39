"""Health Gym v1 generator and critic (HEALTH_GYM_V1.md, "Model").

Both networks keep their recurrent weights in one bidirectional ``torch.nn.LSTM`` and run it
in one of two ways over the *same* parameters:

- ``torch.nn.LSTM`` itself (cuDNN on a GPU, oneDNN on the CPU) wherever only first-order
  gradients are needed: the generator, D(real), D(fake) and D(G(z)). Its bidirectional
  outputs are aligned in time, which is the generator's intended design. On this 2-core CPU
  it beat the loop below for a first-order critic pass (0.84 s vs 0.94 s, B=512, L=60).
- ``bidirectional_lstm_final_states``, a loop over time built from differentiable tensor ops,
  for the critic inside the gradient penalty, which differentiates the critic's input
  gradient again (create_graph). cuDNN's LSTM has no double backward ("derivative for
  _cudnn_rnn_backward is not implemented"); oneDNN's has one on the CPU but it was ~1.4x
  slower than this loop.

Measured and left out (CPU, torch 2.13): torch.compile of the penalty through torch.func.grad
(same speed as eager, 37 s of compiling per length), oneDNN's 'bf16' fp32-matmul precision
(within noise here, and it would round to bf16 on CPUs with AMX).

The plain, published-style loop lives in ``hgym_core.gan.reference``; tests check that both agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hgym_core.errors import HGymError

if TYPE_CHECKING:  # Span is only read through its attributes here.
    from hgym_core.data.encoding import Span

LEAKY_SLOPE = 0.1


def check_spans(spans: Sequence["Span"]) -> int:
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

    def __init__(self, spans: Sequence["Span"]):
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

    def forward(self, logits: Tensor) -> Tensor:
        parts = torch.split(logits.index_select(-1, self.order), self.group_sizes, dim=-1)
        outputs = [parts[0].sigmoid()]
        for width, part in zip(self.widths, parts[1:]):
            blocks = part.unflatten(-1, (-1, width))
            outputs.append(blocks.softmax(dim=-1).flatten(-2))
        return torch.cat(outputs, dim=-1).index_select(-1, self.inverse_order)


class Generator(nn.Module):
    """z [B, L, latent] -> encoded sequences [B, L, F].

    A forward LSTM over z and a second LSTM over z reversed in time, its outputs flipped back
    so that both halves describe the same time step (the intended bidirectional design; the
    published code concatenated them unflipped). ``nn.LSTM(bidirectional=True)`` computes
    exactly this.
    """

    def __init__(self, spans: Sequence["Span"], latent_dim: int = 128, hidden_dim: int = 128):
        super().__init__()
        self.spans = list(spans)
        self.latent_dim = latent_dim
        self.lstm = nn.LSTM(latent_dim, hidden_dim, batch_first=True, bidirectional=True)
        self.linear1 = nn.Linear(2 * hidden_dim, hidden_dim)
        self.linear2 = nn.Linear(hidden_dim, hidden_dim)
        self.head = OutputHead(spans)
        self.linear3 = nn.Linear(hidden_dim, self.head.n_features)

    def sample_noise(self, batch: int, length: int, generator: torch.Generator) -> Tensor:
        """z ~ U(0, 1) of shape [batch, length, latent], drawn from ``generator`` on its device."""
        dtype = self.linear1.weight.dtype
        return torch.rand(batch, length, self.latent_dim, generator=generator, device=generator.device, dtype=dtype)

    def forward(self, z: Tensor) -> Tensor:
        h, _ = self.lstm(z)
        h = F.leaky_relu(self.linear1(h), LEAKY_SLOPE)
        h = F.leaky_relu(self.linear2(h), LEAKY_SLOPE)
        return self.head(self.linear3(h))


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
        i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
        c = i * g if c is None else f * c + i * g
        h = o * c.tanh()
    return h.transpose(0, 1).reshape(batch, 2 * H)


class Critic(nn.Module):
    """Encoded sequences [B, L, F] -> one score per sequence [B].

    Reals pass through; each one-hot block is soft-embedded as x_blk @ E_k; two Linear +
    LeakyReLU(0.1) layers; forward and reverse LSTMs whose final hidden states feed a Linear.
    """

    def __init__(self, spans: Sequence["Span"], hidden_dim: int = 128):
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

    def embedding_matrix(self) -> Tensor:
        """[F, E]: identity for the reals, E_k on the diagonal for each block."""
        weight = self.linear1.weight
        n_real = sum(s.kind == "real" for s in self.spans)
        return torch.block_diag(torch.eye(n_real, dtype=weight.dtype, device=weight.device), *self.embeddings)

    def forward(self, x: Tensor, twice_differentiable: bool = False) -> Tensor:
        """Scores [B]; ``twice_differentiable`` picks the loop LSTM the gradient penalty needs."""
        # linear1(x @ M) == x @ (W1 M^T)^T: one small weight product replaces the per-block
        # embeddings and their concatenation.
        h = F.leaky_relu(F.linear(x, self.linear1.weight @ self.embedding_matrix().T, self.linear1.bias), LEAKY_SLOPE)
        h = F.leaky_relu(self.linear2(h), LEAKY_SLOPE)
        if twice_differentiable:
            final = bidirectional_lstm_final_states(h, self.lstm)
        else:
            _, (h_n, _) = self.lstm(h)
            final = torch.cat([h_n[0], h_n[1]], dim=-1)
        return self.linear3(final).squeeze(-1)
