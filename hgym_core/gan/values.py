"""Held values written by the generator itself, so the critic sees them in real and fake alike.

The encoding describes a number held until changed (a dose, a rate) with a ``(changed)`` block
beside its channel and its ``(mode)`` or ``(missing)`` block, if any (encoding.py). In the real
data these follow rules:

- the flag is 1 on a patient's first row and wherever the cell turns empty or filled
  (``_changes``); only between two filled rows does it say something of its own: whether the dose
  changed;
- where the flag is 0 the row repeats the previous one: channel and mode block alike.

A generator writing every row freely must learn both, and the measured misses came from it
(docs/doses.md): on quinidine the flag is 1 in 52% of rows, mostly next to empty cells, and the
generator put such a rate on filled pairs too (real: 10%), so doses held too seldom; and the
critic saw each row's own number, never a carried-forward one, so it could not tell a row that
holds from one that changes to a similar number.

``ValueStructure`` (``held_in_generator``) writes both rules into the generator's output
[B, L, F], differentiably: the flag is the encoding's rule, with the generator's own flag c_t only
between two filled rows,

    f_0 = 1,   f_t = o_t (1 − o_{t−1}) + o_{t−1} (1 − o_t) + o_t o_{t−1} c_t   (o_t: the row is filled)

and value_t = f_t · value'_t + (1 − f_t) · value_{t−1} for the channel and its block: a row that
does not change carries the previous one forward, so the critic sees held values in fakes as in
the real rows, and the hold's rate is c's, learnt as the class it is. Decoding is unchanged (it
reads the blocks by argmax and holds values between changes); on exact encodings the structure is
the identity (tested), so the real data needs no such step.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hgym_core.data.encoding import changed_channel, missing_channel, mode_channel


def _held_numbers(encoder) -> list[tuple]:
    """(channel span, its mode or missing block or None, the feature of that block's "missing" class
    or None, its changed block) for each number held until changed."""
    by_name = {s.name: s for s in encoder.spans}
    specs = encoder.state["variables"]
    out = []
    for span in (s for s in encoder.spans if s.kind == "real"):
        changed = by_name.get(changed_channel(span.name))
        if changed is None:
            continue
        mode, missing = by_name.get(mode_channel(span.name)), by_name.get(missing_channel(span.name))
        empty = None
        if mode is not None:   # classes: the point values, "continuous", then "missing" when cells are empty
            empty = mode.end - 1 if specs[span.name]["missing"] else None
        elif missing is not None:   # class 0: a value; class 1: empty
            empty = missing.start + 1
        out.append((span, mode or missing, empty, changed))
    return out


def carry_forward(x: Tensor, columns: Tensor, opens: Tensor) -> Tensor:
    """x [B, L, F] with its ``columns`` carried forward from the row before wherever ``opens``
    [B, L, len(columns)] is 0 (1: the row's own value; between: a mix, for gradients); row 0 is
    always its own. A differentiable loop over the steps."""
    values = x.index_select(-1, columns).unbind(-2)                     # per step [B, C]
    out = [values[0]]
    for value, f in zip(values[1:], opens.unbind(-2)[1:]):
        out.append(f * value + (1 - f) * out[-1])
    return x.index_copy(-1, columns, torch.stack(out, dim=-2))


def follows_own_patient(cohort) -> Tensor:
    """[R] bool: each row of ``cohort`` (an EncodedCohort) that follows a row of its own patient."""
    later = torch.ones(len(cohort.rows), dtype=torch.bool)
    later[cohort.starts.cpu()] = False
    return later


def _index(values: list[int]) -> Tensor:
    return torch.tensor(values, dtype=torch.long)


class ValueStructure(nn.Module):
    """The hold of the module docstring, for a fitted encoder's layout."""

    def __init__(self, encoder):
        super().__init__()
        flag, empty, held, owner = [], [], [], []
        for span, block, missing_class, changed in _held_numbers(encoder):
            columns = [span.start] + ([] if block is None else list(range(block.start, block.end)))
            owner += [len(flag)] * len(columns)
            held += columns
            flag.append(changed.start + 1)
            empty.append(-1 if missing_class is None else missing_class)
        # per held number: its flag's class 1 and its "missing" class (-1: never empty); per held
        # column (the channel and its block): the column and the number it belongs to
        for name, values in (("flag", flag), ("empty", empty), ("held", held), ("owner", owner)):
            self.register_buffer(name, torch.tensor(values, dtype=torch.long), persistent=False)

    @classmethod
    def of(cls, encoder, config) -> "ValueStructure | None":
        """The structure ``config`` (a TrainConfig) asks for, or None when it asks for none, no
        encoder is given, or the encoder has no held number."""
        if encoder is None or not config.held_in_generator:
            return None
        structure = cls(encoder)
        return structure if len(structure.flag) else None

    def forward(self, x: Tensor) -> Tensor:
        """[B, L, F] -> the same with each held number's flag and carried-forward values."""
        own = x.index_select(-1, self.flag)                                   # c_t [B, L, V]
        can_be_empty = self.empty >= 0
        # the rule reads each row's class as decoding does (by its larger share): a soft "filled"
        # of 0.97 would turn a filled pair into a change now and then (measured: 18% changes at the
        # start where the flag says 12%)
        empty = (x.index_select(-1, self.empty.clamp(min=0)) > 0.5).to(x.dtype)
        filled = torch.where(can_be_empty, 1 - empty, torch.ones_like(own))
        before = filled[..., :-1, :]
        now = filled[..., 1:, :]
        later = now * (1 - before) + before * (1 - now) + now * before * own[..., 1:, :]
        flags = torch.cat([torch.ones_like(own[..., :1, :]), later], dim=-2)  # f_t; a first row is new
        # Forward: the flag as decoding reads it (0 or 1), so the critic sees exactly the held values
        # of the decoded table; backward: the soft flag's gradient (straight through). Measured on
        # the dosing toy (4 seeds, 240 steps): held share 0.77 on average, 0.73 with the soft flag.
        flags = (flags > 0.5).to(x.dtype) + flags - flags.detach()
        x = x.index_copy(-1, self.flag, flags).index_copy(-1, self.flag - 1, 1 - flags)
        return carry_forward(x, self.held, flags.index_select(-1, self.owner))


@torch.no_grad()
def own_change_rates(means: Tensor, encoder, cohort) -> Tensor:
    """``means`` (each feature's mean, for the marginal start) with each ``(changed)`` block's shares
    taken where the generator's own flag rules with ``held_in_generator``: between two filled rows
    of a patient (the structure sets the flag elsewhere; there its rate is the real dose changes')."""
    means = means.clone()
    rows = cohort.rows.detach().cpu().double()
    later = follows_own_patient(cohort)
    for _, _, empty, changed in _held_numbers(encoder):
        filled = torch.ones(len(rows), dtype=torch.bool) if empty is None else rows[:, empty] < 0.5
        pairs = later & filled & torch.cat([torch.zeros(1, dtype=torch.bool), filled[:-1]])
        if bool(pairs.any()):
            means[changed.start:changed.end] = rows[pairs, changed.start:changed.end].mean(dim=0).to(means.dtype)
    return means
