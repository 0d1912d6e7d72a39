"""Training curves: the losses over generator steps, downsampled, with the curriculum length L."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hgym_core.errors import HGymError
from hgym_core.gan.events import LOSS_SERIES
from hgym_core.plots._common import CATEGORY_COLOURS, empty_figure, subplots

DEFAULT_LOSS_SERIES = ("d_loss", "w", "gp", "g_loss", "corr")


def downsample_indices(values: np.ndarray, max_points: int) -> np.ndarray:
    """At most ``max_points`` sorted indices: first, last, and each bucket's min and max.

    Keeping the extremes of every bucket (instead of every k-th point) keeps spikes and the
    curriculum saw-tooth visible however long the run.
    """
    if max_points < 4:
        raise HGymError(f"max_points is {max_points}; a curve needs at least 4 points.")
    n = len(values)
    if n <= max_points:
        return np.arange(n)
    buckets = (max_points - 2) // 2
    inner = np.arange(1, n - 1)
    bucket = (inner - 1) * buckets // (n - 2)
    order = inner[np.lexsort((values[inner], bucket))]  # by bucket, then by value
    sorted_buckets = bucket[order - 1]
    first = np.r_[True, sorted_buckets[1:] != sorted_buckets[:-1]]
    last = np.r_[sorted_buckets[1:] != sorted_buckets[:-1], True]
    return np.unique(np.concatenate([[0, n - 1], order[first], order[last]]))


def curriculum_changes(history: pd.DataFrame) -> pd.DataFrame:
    """Rows where the curriculum length changes (the first row included): columns step, length."""
    if "length" not in history.columns or history.empty:
        return pd.DataFrame({"step": [], "length": []})
    steps = _history_steps(history)
    lengths = history["length"].to_numpy()
    starts = np.flatnonzero(np.r_[True, lengths[1:] != lengths[:-1]])
    return pd.DataFrame({"step": steps[starts], "length": lengths[starts]})


def _history_steps(history: pd.DataFrame) -> np.ndarray:
    return (history["step"].to_numpy(dtype=float) if "step" in history.columns
            else np.arange(len(history), dtype=float))


def loss_figure(history: Mapping[str, Sequence] | pd.DataFrame, series: Sequence[str] | None = None,
                max_points: int = 2000, max_markers: int = 36) -> go.Figure:
    """Training curves, one panel per series, plus the curriculum length L underneath.

    ``history`` has the trainer's columns (step, epoch, length, d_real, d_fake, w, gp, d_loss,
    g_loss, corr). Each curve keeps at most ``max_points`` points. A dotted line labelled
    "L=…" marks each curriculum length change while there are at most ``max_markers`` of them
    (the saw-tooth of the losses lines up with them); beyond that the L panel carries it.
    Non-finite values are not drawn; the panel title counts them.
    """
    frame = pd.DataFrame(history)
    available = [name for name in LOSS_SERIES if name in frame.columns]
    chosen = list(series) if series is not None else [n for n in DEFAULT_LOSS_SERIES if n in frame.columns]
    unknown = [name for name in chosen if name not in frame.columns]
    if unknown:
        raise HGymError(f"No training series {', '.join(map(repr, unknown))}; choose from "
                        f"{', '.join(available) or 'none (the history is empty)'}.")
    if frame.empty or not chosen:
        return empty_figure("Training curves", "No training steps yet.")
    steps = _history_steps(frame)
    changes = curriculum_changes(frame)
    show_length = len(changes) > 0
    titles = [LOSS_SERIES[name].title if name in LOSS_SERIES else name for name in chosen]
    rows = len(chosen) + show_length
    figure = subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.04,
                       row_heights=[1.0] * len(chosen) + [0.5] * show_length,
                       subplot_titles=titles + ["Curriculum length L"] * show_length)
    for row, name in enumerate(chosen, start=1):
        values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        finite = np.isfinite(values)
        keep = np.flatnonzero(finite)[downsample_indices(values[finite], max_points)]
        figure.add_scatter(x=steps[keep], y=values[keep], mode="lines", name=name, showlegend=False,
                           line=dict(color=CATEGORY_COLOURS[(row - 1) % len(CATEGORY_COLOURS)], width=1.5),
                           row=row, col=1)
        if not finite.all():
            first = steps[np.flatnonzero(~finite)[0]]
            figure.layout.annotations[row - 1].text += (
                f" — {int((~finite).sum())} non-finite values from step {first:g} not drawn")
    if show_length:
        _add_length_panel(figure, frame, steps, changes, rows, max_points)
        if len(changes) - 1 <= max_markers:
            _mark_length_changes(figure, changes, rows)
    figure.update_xaxes(title_text="generator step", row=rows, col=1)
    figure.update_layout(title="Training curves", height=220 * rows + 80)
    return figure


def _add_length_panel(figure, frame, steps, changes, row, max_points) -> None:
    """L as a step line through each segment's first and last step (exact at any run length)."""
    lengths = frame["length"].to_numpy(dtype=float)
    starts = np.flatnonzero(np.r_[True, lengths[1:] != lengths[:-1]])
    ends = np.r_[starts[1:] - 1, len(lengths) - 1]
    points = np.unique(np.concatenate([starts, ends]))
    points = points[downsample_indices(lengths[points], max_points)]
    figure.add_scatter(x=steps[points], y=lengths[points], mode="lines", name="L", showlegend=False,
                       line=dict(color="#555555", width=1.5, shape="hv"), row=row, col=1)
    figure.update_yaxes(title_text="L", range=[0, 1.4 * lengths.max()], row=row, col=1)  # room for labels


def _mark_length_changes(figure, changes: pd.DataFrame, row: int) -> None:
    """A dotted line through every panel at each change; the "L=…" label sits on the L panel."""
    for index, (step, length) in enumerate(zip(changes["step"], changes["length"])):
        if index > 0:  # the first segment starts with the run, no line needed
            figure.add_shape(type="line", x0=step, x1=step, xref="x", y0=0, y1=1, yref="paper",
                             line=dict(color="#999999", width=1, dash="dot"))
        figure.add_annotation(x=step, y=length, text=f"L={length:g}", showarrow=False, xanchor="left",
                              yanchor="bottom", font=dict(size=10, color="#555555"), row=row, col=1)
