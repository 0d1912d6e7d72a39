"""Numbers that start at the real data's spread (``start_at_spread``, TrainConfig.spread_start).

Measured cause (docs/doses.md): with Health Gym's U(0, 1) noise and PyTorch's default
initialisation every layer shrinks the part of its input that varies with the noise, so an
untrained generator writes each numeric column as a near point mass (on phenobarb, a code SD of
0.005 for a weight whose real code SD is 0.21). One-hot blocks drawn by Gumbel-softmax get their
spread from the Gumbel noise; a number has only the network. A critic's gradient moves a point
mass as one, so the spread grows slowly or never: a static weight drawn once per patient came
out at one value for nine patients in ten, and every lab and dose at a fraction of its spread.

Scaling only the output rows up to the real spread (by some 40x) does not last: every later update
of the layers below is amplified as much, and within a few steps the numbers swung from one edge
of the sigmoid to the other and stayed there. So the hidden layers are first brought to unit
variance over the noise (LSUV), and the output rows then need only a modest scale.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from hgym_core.data.encoding import EncodedCohort, Encoder, Span, missing_channel, mode_channel
from hgym_core.gan.models import StaticHeadGenerator

SPREAD_SAMPLES = 512      # patients drawn to measure the untrained generator's spread
CODE_CLAMP = 1e-4          # sigmoid outputs are read back as logits inside (CODE_CLAMP, 1 - CODE_CLAMP)


def continuous_codes(encoder: Encoder, cohort: EncodedCohort, span: Span) -> Tensor:
    """The codes of the rows where ``span``'s number is a value of its continuous part (not empty,
    not at a point value); one per patient for a static span."""
    rows = cohort.static_rows(torch.arange(cohort.n_patients)) if span.static else cohort.rows
    rows = rows.detach().cpu().double()
    keep = torch.ones(len(rows), dtype=torch.bool)
    by_name = {s.name: s for s in encoder.spans}
    mode, missing = by_name.get(mode_channel(span.name)), by_name.get(missing_channel(span.name))
    if mode is not None:   # the continuous class comes after the point values (then "missing")
        points = len(encoder.state["variables"][span.name]["points"])
        keep &= rows[:, mode.start:mode.end].argmax(dim=1) == points
    elif missing is not None:
        keep &= rows[:, missing.start] > 0.5
    return rows[keep, span.start]


def _fit_affine(logits: Tensor, mean: float, sd: float, iterations: int = 60) -> tuple[float, float]:
    """(k, M) such that sigmoid(k · (logits − logits.mean()) + M) has this mean and SD (bisection:
    the SD grows with k, the mean with M)."""
    centred = logits - logits.mean()
    sd = min(sd, 0.49)

    def offset(k: float) -> float:
        low, high = -30.0, 30.0
        for _ in range(iterations):
            middle = (low + high) / 2
            low, high = (middle, high) if torch.sigmoid(k * centred + middle).mean() < mean else (low, middle)
        return (low + high) / 2

    low, high = 0.0, 1.0
    while torch.sigmoid(high * centred + offset(high)).std() < sd and high < 1e6:
        high *= 2
    for _ in range(iterations):
        middle = (low + high) / 2
        low, high = (middle, high) if torch.sigmoid(middle * centred + offset(middle)).std() < sd else (low, middle)
    k = (low + high) / 2
    return k, offset(k)


def _output_rows(generator: nn.Module, spans: Sequence[Span]) -> dict[int, tuple[nn.Linear, int]]:
    """Feature index -> (the output layer that writes it, its row there), for every real span."""
    reals = [s.start for s in spans if s.kind == "real"]
    if isinstance(generator, StaticHeadGenerator):
        static, temporal = generator.static_index, generator.temporal_index
        out = {}
        for feature in reals:
            if feature in static:
                out[feature] = (generator.static_net[-1], static.index(feature))
            else:
                out[feature] = (generator.linear3, temporal.index(feature))
        return out
    return {feature: (generator.linear3, feature) for feature in reals}


@torch.no_grad()
def _draw(generator: nn.Module, length: int, seed: int, device) -> Tensor:
    """[B·L, F] untrained outputs, from a stream of their own (training's noise is left as it is)."""
    noise = torch.Generator(device=device).manual_seed(seed)
    out = generator.generate(SPREAD_SAMPLES, length, noise)
    return out.reshape(-1, out.shape[-1])


def _captured(generator: nn.Module, module: nn.Module, seed: int, length: int, device) -> Tensor:
    """[rows, width]: what ``module`` writes (a Linear) or reads (an LSTM) when the generator writes
    SPREAD_SAMPLES patients from a noise stream of its own (training's noise is left as it is)."""
    seen = []

    def hook(_module, inputs, output):
        if isinstance(module, nn.LSTM):
            x = inputs[0]
            x = x.data if isinstance(x, nn.utils.rnn.PackedSequence) else x
        else:
            x = output
        seen.append(x.reshape(-1, x.shape[-1]))

    handle = module.register_forward_hook(hook)
    try:
        _draw(generator, length, seed, device)
    finally:
        handle.remove()
    return seen[0].double()


def _standardise_linear(layer: nn.Linear, outputs: Tensor) -> None:
    """Rescale ``layer`` so each of its units has zero mean and unit SD over these outputs of it."""
    mean, sd = outputs.mean(dim=0), outputs.std(dim=0).clamp(min=1e-6)
    layer.weight.div_(sd[:, None].to(layer.weight.dtype))
    layer.bias.sub_(mean.to(layer.bias.dtype)).div_(sd.to(layer.bias.dtype))


def _standardise_lstm(lstm: nn.LSTM, inputs: Tensor) -> None:
    """Rescale the input weights of both directions so each gate's input part has zero mean and unit
    SD over these inputs (the recurrent part starts from it)."""
    for suffix in ("", "_reverse"):
        weight = getattr(lstm, f"weight_ih_l0{suffix}")
        bias_ih, bias_hh = getattr(lstm, f"bias_ih_l0{suffix}"), getattr(lstm, f"bias_hh_l0{suffix}")
        pre = inputs @ weight.double().T + (bias_ih + bias_hh).double()
        mean, sd = pre.mean(dim=0), pre.std(dim=0).clamp(min=1e-6)
        weight.div_(sd[:, None].to(weight.dtype))
        bias_ih.copy_(((bias_ih + bias_hh).double() - mean) / sd - bias_hh.double())


def _fit_numbers(generator, encoder: Encoder, cohort: EncodedCohort, spans: Sequence[Span], seed: int, length: int,
                 device) -> None:
    rows = _output_rows(generator, encoder.spans)
    outputs = _draw(generator, length, seed, device).double().cpu()
    for span in spans:
        target = continuous_codes(encoder, cohort, span)
        if len(target) < 2 or float(target.std()) <= 0:
            continue
        logits = torch.logit(outputs[:, span.start].clamp(CODE_CLAMP, 1 - CODE_CLAMP))
        k, offset = _fit_affine(logits, float(target.mean()), float(target.std()))
        layer, row = rows[span.start]
        centre = float(logits.mean())
        layer.weight[row] *= k
        layer.bias[row] = k * (layer.bias[row] - centre) + offset


@torch.no_grad()
def start_at_spread(generator: nn.Module, encoder: Encoder, cohort: EncodedCohort, seed: int) -> None:
    """Start every number the generator writes at the real one's spread.

    1. Each hidden layer (the static head's, the LSTM's input weights, the two dense layers) is
       rescaled, in order, so its units have zero mean and unit SD over the untrained generator's
       own noise (layer-sequential unit variance, Mishkin & Matas 2016): what varies with the noise
       reaches the output at full size instead of shrinking at every layer.
    2. Each number's output row is then scaled and shifted so it writes the mean and SD of the
       real codes (of its continuous rows; over patients for a static one), as a logit-normal.
    Static parts first: the sequence part of a static-head generator reads them. The numbers are
    fitted as the critic sees them: a held number (``held_in_generator``) as carried forward from
    its last change, which at the start is mostly a patient's first row, whose spread differs from
    the rows' pooled one (the two LSTM directions see different parts of the noise there)."""
    _start_at_spread(generator, encoder, cohort, seed)


def _start_at_spread(generator: nn.Module, encoder: Encoder, cohort: EncodedCohort, seed: int) -> None:
    device = generator.linear1.weight.device
    length = min(cohort.max_length, 64)
    reals = [s for s in encoder.spans if s.kind == "real"]
    stages = []
    if isinstance(generator, StaticHeadGenerator):
        linears = [m for m in generator.static_net if isinstance(m, nn.Linear)]
        stages.append((linears[:-1], linears[-1], [s for s in reals if s.static]))
    stages.append(([generator.lstm, generator.linear1, generator.linear2], generator.linear3,
                   [s for s in reals if not s.static]))
    number_rows = {(id(layer), row) for layer, row in _output_rows(generator, encoder.spans).values()}
    # the untrained generator's block logits, before anything is rescaled
    blocks = {id(final): [row for row in range(final.out_features) if (id(final), row) not in number_rows]
              for _, final, _ in stages}
    untrained = {id(final): _captured(generator, final, seed, length, device)[:, blocks[id(final)]]
                 for _, final, _ in stages}
    for modules, final, numbers in stages:
        for module in modules:
            seen = _captured(generator, module, seed, length, device)
            if isinstance(module, nn.LSTM):
                _standardise_lstm(module, seen)
            else:
                _standardise_linear(module, seen)
        rows = blocks[id(final)]
        _keep_blocks(final, rows, untrained[id(final)], _captured(generator, final, seed, length, device)[:, rows])
        _fit_numbers(generator, encoder, cohort, numbers, seed, length, device)


def _keep_blocks(final: nn.Linear, blocks: list[int], before: Tensor, after: Tensor) -> None:
    """Give the one-hot blocks' logits back the mean and SD they had before the hidden layers were
    rescaled: larger logit noise would move a rare class's share above the marginal start's (a
    softmax averaged over noisy logits favours the rare classes)."""
    if not blocks:
        return
    k = before.std(dim=0) / after.std(dim=0).clamp(min=1e-8)
    index = torch.tensor(blocks, dtype=torch.long, device=final.weight.device)
    scale = k.to(final.weight.dtype).to(final.weight.device)
    final.weight[index] *= scale[:, None]
    final.bias[index] = (scale * (final.bias[index] - after.mean(dim=0).to(final.bias.dtype).to(final.bias.device))
                         + before.mean(dim=0).to(final.bias.dtype).to(final.bias.device))
