"""Example patients: a few randomly chosen patients' values over time, real | synthetic."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hgym_core.plots._common import (
    CATEGORY_COLOURS, REAL_COLOUR, SYNTHETIC_COLOUR, category_codes, category_order, column, figure, numeric,
    prefers_log_axis, subplots, title,
)


def _sample_patients(df: pd.DataFrame, schema, n_patients: int, seed: int, table: str) -> list:
    ids = pd.unique(column(df, schema.id_column, table))
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(ids), size=min(n_patients, len(ids)), replace=False)
    return [ids[i] for i in sorted(chosen)]


def _add_trajectories(drawn: go.Figure, df: pd.DataFrame, schema, spec, ids: list, table: str,
                      colours: Sequence[str], **position) -> None:
    column(df, schema.time_column, table)
    rows = df[df[schema.id_column].isin(ids)].sort_values([schema.id_column, schema.time_column])
    is_numeric = spec.kind == "numeric"
    if is_numeric:
        values = numeric(rows, spec.name, table)
    else:
        labels = column(rows, spec.name, table)
        order = category_order(spec, labels)
        values = np.array(order, dtype=object)[category_codes(labels, order)]
    for index, (patient, where) in enumerate(rows.groupby(schema.id_column, sort=False).indices.items()):
        drawn.add_scatter(
            x=rows[schema.time_column].to_numpy()[where], y=values[where], mode="lines+markers",
            name=f"{table} patient {patient}", line=dict(color=colours[index % len(colours)],
                                                          shape="linear" if is_numeric else "hv"),
            marker_size=4, opacity=0.85, **position)


def trajectories_figure(df: pd.DataFrame, schema, variable: str, n_patients: int = 5, seed: int = 0,
                        table: str = "data") -> go.Figure:
    """``n_patients`` randomly chosen patients' values over time, one colour per patient."""
    spec = schema.variable(variable)
    ids = _sample_patients(df, schema, n_patients, seed, table)
    drawn = figure()
    _add_trajectories(drawn, df, schema, spec, ids, table, CATEGORY_COLOURS)
    _style_trajectory_axes(drawn, schema, spec, [df], [table])
    drawn.update_layout(title=f"{title(spec)}: {_patients(len(ids))} ({table})")
    return drawn


def trajectories_comparison_figure(real: pd.DataFrame, synthetic: pd.DataFrame, schema, variable: str,
                                   n_patients: int = 5, seed: int = 0) -> go.Figure:
    """Example patients side by side: real (blue) | synthetic (orange), on the same y axis."""
    spec = schema.variable(variable)
    drawn = subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                     subplot_titles=("Real", "Synthetic"))
    for col, (df, table, colour) in enumerate(((real, "real", REAL_COLOUR),
                                               (synthetic, "synthetic", SYNTHETIC_COLOUR)), start=1):
        ids = _sample_patients(df, schema, n_patients, seed, table)
        _add_trajectories(drawn, df, schema, spec, ids, table, [colour], row=1, col=col)
    _style_trajectory_axes(drawn, schema, spec, [real, synthetic], ["real", "synthetic"])
    drawn.update_layout(title=f"{title(spec)}: {_patients(n_patients)} each", showlegend=False)
    return drawn


def _style_trajectory_axes(drawn: go.Figure, schema, spec, frames, tables) -> None:
    drawn.update_xaxes(title_text=schema.time_column)
    if spec.kind == "numeric":
        pooled = np.concatenate([numeric(df, spec.name, t) for df, t in zip(frames, tables)])
        drawn.update_yaxes(type="log" if prefers_log_axis(pooled) else "linear")
    else:
        order = category_order(spec, *(column(df, spec.name, t) for df, t in zip(frames, tables)))
        drawn.update_yaxes(type="category", categoryorder="array", categoryarray=order)
    drawn.update_layout(yaxis_title=title(spec))  # the first (left) y axis


def _patients(count: int) -> str:
    return f"{count} example patient{'' if count == 1 else 's'}"
