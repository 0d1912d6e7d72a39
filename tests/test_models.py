"""Generator and critic: output heads, time alignment, the two LSTM paths, edge cases."""

from __future__ import annotations

import pytest
import torch

from hgym_core.errors import HGymError
from hgym_core.gan.models import Critic, Generator, OutputHead, bidirectional_lstm_final_states
from tests.span_factory import make_spans

SPANS = make_spans(3, (2, 4, 6, 4, 2))


def test_generator_heads_sigmoid_reals_and_softmax_blocks():
    torch.manual_seed(0)
    generator = Generator(SPANS, latent_dim=8, hidden_dim=8)
    z = generator.sample_noise(5, 4, torch.Generator().manual_seed(0))
    assert z.shape == (5, 4, 8) and 0 <= z.min() and z.max() < 1
    out = generator(z)
    assert out.shape == (5, 4, SPANS[-1].end)
    reals = out[..., :3]
    assert (reals > 0).all() and (reals < 1).all()
    for span in SPANS[3:]:
        torch.testing.assert_close(out[..., span.start : span.end].sum(-1), torch.ones(5, 4))


def test_output_head_matches_per_span_activations():
    # Blocks are regrouped by width inside the head; every feature must land back in place.
    spans = make_spans(2, (3, 2, 3, 5, 2))
    logits = torch.randn(4, 3, spans[-1].end) * 3
    expected = torch.cat(
        [logits[..., s.start : s.end].sigmoid() if s.kind == "real" else logits[..., s.start : s.end].softmax(-1) for s in spans],
        dim=-1,
    )
    torch.testing.assert_close(OutputHead(spans)(logits), expected)


def test_generator_directions_are_aligned_in_time():
    torch.manual_seed(0)
    hidden, length = 6, 5
    generator = Generator(SPANS, latent_dim=4, hidden_dim=hidden).double()
    z = torch.rand(1, length, 4, dtype=torch.float64, requires_grad=True)
    states, _ = generator.lstm(z)
    for t in range(length):
        forward_grad = torch.autograd.grad(states[0, t, :hidden].sum(), z, retain_graph=True)[0][0].abs().sum(-1)
        reverse_grad = torch.autograd.grad(states[0, t, hidden:].sum(), z, retain_graph=True)[0][0].abs().sum(-1)
        steps = torch.arange(length)
        # Forward half at step t reads z[:t+1]; reverse half reads z[t:].
        assert ((forward_grad > 0) == (steps <= t)).all()
        assert ((reverse_grad > 0) == (steps >= t)).all()
    # So every output step sees the whole noise sequence.
    out = generator(z)
    for t in (0, length - 1):
        grad = torch.autograd.grad(out[0, t].sum(), z, retain_graph=True)[0][0].abs().sum(-1)
        assert (grad > 0).all()


def test_critic_loop_lstm_matches_torch_lstm_values_and_gradients():
    torch.manual_seed(0)
    critic = Critic(SPANS, hidden_dim=8).double()
    x = torch.rand(3, 6, SPANS[-1].end, dtype=torch.float64)
    fast = critic(x)
    loop = critic(x, twice_differentiable=True)
    assert fast.shape == (3,)
    torch.testing.assert_close(loop, fast, rtol=0, atol=1e-12)
    params = list(critic.parameters())
    for a, b in zip(torch.autograd.grad(fast.sum(), params), torch.autograd.grad(loop.sum(), params)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def test_loop_lstm_supports_double_backward():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(4, 5, batch_first=True, bidirectional=True).double()
    x = torch.rand(2, 3, 4, dtype=torch.float64, requires_grad=True)
    (grad_x,) = torch.autograd.grad(bidirectional_lstm_final_states(x, lstm).square().sum(), x, create_graph=True)
    second = torch.autograd.grad(grad_x.square().sum(), list(lstm.parameters()))
    assert all(g.abs().sum() > 0 and torch.isfinite(g).all() for g in second)


@pytest.mark.parametrize("spans", [make_spans(4, ()), make_spans(0, (2, 3))], ids=["reals only", "blocks only"])
def test_models_handle_spans_without_blocks_or_without_reals(spans):
    generator, critic = Generator(spans, latent_dim=4, hidden_dim=4), Critic(spans, hidden_dim=4)
    out = generator(generator.sample_noise(2, 3, torch.Generator()))
    assert out.shape == (2, 3, spans[-1].end)
    assert critic(out).shape == critic(out, twice_differentiable=True).shape == (2,)


def test_spans_that_do_not_tile_the_features_are_rejected_by_name():
    spans = make_spans(1, (3,))
    gap = [spans[0], type(spans[1])("Ethnic", "cat", 3, 4, 2, 5)]
    with pytest.raises(HGymError, match="Ethnic"):
        Critic(gap, hidden_dim=4)
    with pytest.raises(HGymError, match="no variables"):
        Generator([], latent_dim=4, hidden_dim=4)


def test_one_gumbel_draw_per_patient_keeps_a_near_tie_label_steady_over_its_steps():
    """steady_labels: with fresh noise at each step a label between two nearly equal classes flips
    from step to step (drug regimens switched 7x too often); one draw per patient keeps it, and
    each step's share of a class is still the logits' share over patients."""
    from hgym_core.gan.models import Gumbel

    head = OutputHead(make_spans(0, (2,)))
    logits = torch.zeros(4000, 30, 2)   # an exact tie at every step
    fresh = head(logits, Gumbel(0.2, torch.Generator().manual_seed(0)))
    steady = head(logits, Gumbel(0.2, torch.Generator().manual_seed(0), per_patient=True))
    flips = {name: (out.argmax(-1)[:, 1:] != out.argmax(-1)[:, :-1]).float().mean().item()
             for name, out in (("fresh", fresh), ("steady", steady))}
    assert flips["fresh"] == pytest.approx(0.5, abs=0.02) and flips["steady"] == 0.0
    assert steady.argmax(-1)[:, 0].float().mean().item() == pytest.approx(0.5, abs=0.03)
    static = head(torch.zeros(4000, 2), Gumbel(0.2, torch.Generator().manual_seed(0), per_patient=True))
    assert static.argmax(-1).float().mean().item() == pytest.approx(0.5, abs=0.03)   # no time axis: one draw each


def test_the_generators_take_steady_labels_from_the_config():
    from hgym_core.gan.config import TrainConfig
    from hgym_core.gan.models import build_generator

    config = TrainConfig(hidden_dim=8, latent_dim=8, gumbel_tau=0.2, steady_labels=True)
    generator = build_generator(SPANS, config)
    out = generator.generate(64, 12, torch.Generator().manual_seed(0))
    # at the start the logits barely move over time, so with one draw per patient labels rarely change
    labels = out[..., SPANS[4].start:SPANS[4].end].argmax(-1)
    assert generator.steady_labels and (labels[:, 1:] != labels[:, :-1]).float().mean().item() < 0.2
