"""Tiny span lists for model tests, laid out as the encoder lays them out (reals, then blocks)."""

from __future__ import annotations

from hgym_core.data.encoding import Span


def make_spans(n_real: int, block_widths: tuple[int, ...]) -> list[Span]:
    """``n_real`` real columns, then one-hot blocks of the given widths (2 = binary)."""
    spans, position = [], 0
    for index in range(n_real):
        spans.append(Span(f"real{index}", "real", 1, 1, position, position + 1))
        position += 1
    for index, width in enumerate(block_widths):
        kind, embed = ("bin", 2) if width == 2 else ("cat", 4)
        spans.append(Span(f"block{index}", kind, width, embed, position, position + width))
        position += width
    return spans
