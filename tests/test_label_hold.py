"""held_labels: the generator carries each time-varying label forward between gates of its own."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from hgym_core.data.encoding import Encoder
from hgym_core.data.schema import Schema
from hgym_core.gan.config import TrainConfig
from hgym_core.gan.label_hold import LabelHold
from hgym_core.gan.models import build_generator
from tests.span_factory import make_spans

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def one_hot(codes: list[list[int]], width: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.tensor(codes), width).float()


def test_a_shut_gate_repeats_the_label_and_an_open_one_takes_the_new_row():
    hold = LabelHold(make_spans(0, (3,)))
    x = one_hot([[0, 1, 2, 1]], 3)                       # what the head wrote, row by row
    gates = torch.tensor([[[-9.0], [9.0], [-9.0], [-9.0]]])   # the first row is new whatever its gate says
    out = hold(x, gates, noise=None)
    assert out.argmax(-1).tolist() == [[0, 1, 1, 1]]
    every = hold(x, torch.full((1, 4, 1), 9.0), noise=None)
    assert torch.equal(every, x)                          # all gates open: the head's own rows


def test_rows_after_a_patients_end_never_open_a_gate():
    hold = LabelHold(make_spans(0, (2,)))
    x = one_hot([[0, 1, 0, 1]], 2)
    present = torch.tensor([[True, True, False, False]])
    out = hold(x, torch.full((1, 4, 1), 9.0), noise=None, present=present)
    assert out.argmax(-1).tolist() == [[0, 1, 1, 1]]      # the last row repeats, as real padding does


def test_the_gates_start_at_each_labels_real_change_rate_and_carry_gradients():
    # 400 patients x 20 months; a regimen switched in 2% of month pairs, a flag changing in half
    rows = []
    generator = torch.Generator().manual_seed(0)
    for patient in range(400):
        regimen = int(torch.randint(0, 4, (1,), generator=generator))
        for month in range(20):
            if month and float(torch.rand(1, generator=generator)) < 0.02:
                regimen = (regimen + 1) % 4
            rows.append((patient, month, f"R{regimen}", int(torch.rand(1, generator=generator) < 0.5), 1.0 + month))
    table = pd.DataFrame(rows, columns=["id", "month", "regimen", "flag", "lab"])
    encoder = Encoder.fit(table, Schema.infer(table))
    cohort = encoder.encode(table)
    config = TrainConfig(hidden_dim=16, latent_dim=8, gumbel_tau=0.2, held_labels=True)
    model = build_generator(encoder.spans, config, encoder)
    assert [s.name for s in model.label_hold.spans] == ["regimen", "flag"]
    model.start_label_gates(cohort)
    synthetic = encoder.decode(model.generate(2000, 20, torch.Generator().manual_seed(1)).detach())
    changes = synthetic.groupby("id")[["regimen", "flag"]].apply(lambda p: (p != p.shift()).iloc[1:].mean())
    assert changes["regimen"].mean() == pytest.approx(0.02, abs=0.01)   # an untrained generator, at the real rate
    assert changes["flag"].mean() == pytest.approx(0.5, abs=0.06)
    out = model.generate(8, 20, torch.Generator().manual_seed(2))
    out.sum().backward()
    assert model.linear3.weight.grad[-2:].abs().sum() > 0   # the gates learn through the straight-through flag


def test_off_by_default_and_in_health_gym_the_layout_and_the_outputs_are_unchanged():
    spans = make_spans(1, (3,))
    plain = build_generator(spans, TrainConfig(hidden_dim=8, latent_dim=8))
    assert plain.label_hold is None and plain.linear3.out_features == spans[-1].end
