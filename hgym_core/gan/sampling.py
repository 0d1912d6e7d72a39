"""New patients from a trained generator, decoded into a table, at a cost that follows their rows.

A generator that draws each patient's length first (the static head with a ``__length__`` block)
is asked for its patients' static values, then for their sequences, which it writes over each
patient's own rows (a packed LSTM), ``GROUP`` patients of similar length at a time so memory holds
one group's padded steps; only those rows are decoded. Any other generator writes every
patient at the full length, and decoding reads where each one ends.
The synthesizer and the trainer's validation sample through here, so both see the same patients.
"""

from __future__ import annotations

import pandas as pd
import torch
from torch import nn

from hgym_core.data.encoding import EncodedCohort, Encoder

GROUP = 256


@torch.no_grad()
def sample_table(generator: nn.Module, encoder: Encoder, n_patients: int, length: int, noise: torch.Generator,
                 first_id: int = 0) -> pd.DataFrame:
    """``n_patients`` new patients of at most ``length`` steps, decoded, numbered from ``first_id``."""
    if getattr(generator, "length_span", None) is None:
        return encoder.decode(generator.generate(n_patients, length, noise).cpu(), first_id=first_id)
    rows, lengths = generate_rows(generator, n_patients, length, noise)
    return encoder.decode_rows(rows.cpu(), lengths.cpu(), first_id)


def generate_rows(generator: nn.Module, n_patients: int, length: int, noise: torch.Generator,
                  group: int = GROUP) -> tuple[torch.Tensor, torch.Tensor]:
    """Ragged rows [R, F] and lengths [n] of new patients from a generator with a length head,
    written ``group`` patients of similar length at a time (each group as long as its longest)."""
    static = generator.draw_static(n_patients, noise)
    lengths = generator.patient_lengths(static).clamp(max=length).cpu()
    order = torch.argsort(lengths, stable=True)
    parts = []
    for members in torch.split(order, group):
        steps = int(lengths[members].max())
        sequences = generator.sequences(static[members.to(static.device)], steps, noise)
        present = torch.arange(steps)[None, :] < lengths[members][:, None]
        parts.append(sequences[present.to(sequences.device)])
    by_length = EncodedCohort(torch.cat(parts), lengths[order], order.tolist())
    back = by_length.subset(torch.argsort(order))   # the patients in the order their statics were drawn
    return back.rows, back.lengths
