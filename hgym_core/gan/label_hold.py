"""Labels carried forward by the generator between its own change gates (``held_labels``).

A time-varying label of a clinical table mostly repeats from one row to the next and changes at
a few moments: a drug regimen is switched in 1.2% of the built-in cohort's months. A generator
that writes every row's label afresh must learn to repeat it from its noise, and the measured
result was flicker: the regimens of the auto preset's synthetic patients switched in 7.8% of
months after ten minutes (22% after 150 s), which a sequence classifier spots at once.

``LabelHold`` gives each time-varying label a gate of its own, g_t, written by the generator
beside its outputs (extra output units of its last layer, so the layout the critic sees is
unchanged: nothing is added to the encoding, health-gym's published layout included):

    g_0 = 1,   g_t = 1[gate logit_t + logistic noise > 0]   (straight through: the sigmoid's gradient)
    label_t = g_t · label'_t + (1 − g_t) · label_{t−1}

so a label changes only where its gate opens, and the gate's rate starts at the real change rate
of that label (``start_at``, with the marginal start) instead of being found from noise. The
rows after a patient's end never open a gate: they repeat its last row, as real padding does.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hgym_core.data.encoding import EncodedCohort, Span
from hgym_core.gan.values import carry_forward, follows_own_patient

# The gate units' weights start this much smaller than the layer's others, so at the start the
# gates open at the real change rate whatever the hidden state (the bias carries the rate).
GATE_WEIGHT_SCALE = 0.1


def gated_spans(spans: list[Span], names: set[str]) -> list[Span]:
    """The time-varying label variables of the schema (``names``), not the encoder's extra blocks."""
    return [s for s in spans if s.kind != "real" and not s.static and s.name in names]


class LabelHold(nn.Module):
    """The hold of the module docstring for the spans ``gated`` of a generator's output layout."""

    def __init__(self, gated: list[Span]):
        super().__init__()
        columns = [i for s in gated for i in range(s.start, s.end)]
        owner = [g for g, s in enumerate(gated) for _ in range(s.start, s.end)]
        self.n_gates = len(gated)
        self.spans = list(gated)
        self.register_buffer("columns", torch.tensor(columns, dtype=torch.long), persistent=False)
        self.register_buffer("owner", torch.tensor(owner, dtype=torch.long), persistent=False)

    @classmethod
    def of(cls, encoder, config) -> "LabelHold | None":
        """The hold ``config`` (a TrainConfig) asks for, or None: not asked, no encoder, or no label."""
        if encoder is None or not config.held_labels:
            return None
        names = {v.name for v in encoder.schema.variables if v.kind != "numeric" and not v.static}
        gated = gated_spans(encoder.spans, names)
        return cls(gated) if gated else None

    def forward(self, x: Tensor, gate_logits: Tensor, noise: torch.Generator | None,
                present: Tensor | None = None) -> Tensor:
        """x [B, L, F] with each gated label carried forward where its gate [B, L, G] stays shut;
        ``present`` [B, L] (bool): the rows a patient has (None: all)."""
        if noise is not None:   # a logistic draw: the gate opens with probability sigmoid(logit)
            u = torch.rand(gate_logits.shape, generator=noise, device=noise.device,
                           dtype=gate_logits.dtype).clamp(1e-6, 1 - 1e-6)
            gate_logits = gate_logits + torch.log(u) - torch.log1p(-u)
        soft = torch.sigmoid(gate_logits)
        hard = (soft > 0.5).to(soft.dtype) + soft - soft.detach()
        if present is not None:
            hard = hard * present[..., None].to(hard.dtype)
        return carry_forward(x, self.columns, hard.index_select(-1, self.owner))   # row 0 is always new

    @torch.no_grad()
    def start_at(self, layer: nn.Linear, first_gate: int, cohort: EncodedCohort) -> None:
        """Gate units ``first_gate``… of ``layer`` start at each label's real change rate: the share
        of a patient's consecutive rows where it differs, over the chance that an opened gate draws
        another class than the one it holds (1 − Σ share²), at least 0.1% so a gate can open."""
        rows = cohort.rows.detach().cpu()
        later = follows_own_patient(cohort)
        gates = slice(first_gate, first_gate + self.n_gates)
        for g, span in enumerate(self.spans):
            codes = rows[:, span.start:span.end].argmax(dim=-1)
            changed = (codes[1:] != codes[:-1])[later[1:]]
            shares = torch.bincount(codes, minlength=span.n_classes).double() / len(codes)
            redrawn_differs = float(1 - shares.square().sum())
            rate = float(changed.float().mean()) / max(redrawn_differs, 1e-3) if len(changed) else 0.5
            rate = min(max(rate, 1e-3), 1 - 1e-3)
            layer.bias[first_gate + g] = torch.logit(torch.tensor(rate))
        layer.weight[gates] *= GATE_WEIGHT_SCALE
