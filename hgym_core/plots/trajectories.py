"""Example patients: a few randomly chosen patients' values over time, real | synthetic.

A clinical record carries the last measurement forward through the months without one; the
single-table figure can tell the two apart: measured values as filled dots, carried ones as rings.
A row is measured where its ``<variable> (M)`` flag column is 1 (the built-in cohort's ``VL (M)``,
``CD4 (M)``), where its value differs from the patient's previous row, and at the patient's first row.
"""

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


def measured_rows(rows: pd.DataFrame, schema, variable: str) -> np.ndarray:
    """Which of ``rows`` (sorted by patient and time) hold a measured value of ``variable``, as the
    module says: its ``(M)`` flag is 1, or the value changed from the patient's previous row."""
    values, ids = pd.Series(rows[variable].to_numpy()), rows[schema.id_column].to_numpy()
    measured = np.r_[True, ids[1:] != ids[:-1]] | values.ne(values.shift()).to_numpy()
    flag = f"{variable} (M)"
    if flag in rows.columns:
        measured |= pd.to_numeric(rows[flag], errors="coerce").to_numpy() == 1
    return measured


def _add_trajectories(drawn: go.Figure, df: pd.DataFrame, schema, spec, ids: list, table: str,
                      colours: Sequence[str], mark_measured: bool = False, **position) -> None:
    column(df, schema.time_column, table)
    rows = df[df[schema.id_column].isin(ids)].sort_values([schema.id_column, schema.time_column])
    is_numeric = spec.kind == "numeric"
    if is_numeric:
        values = numeric(rows, spec.name, table)
    else:
        labels = column(rows, spec.name, table)
        order = category_order(spec, labels)
        values = np.array(order, dtype=object)[category_codes(labels, order)]
    measured = measured_rows(rows, schema, spec.name) if mark_measured and is_numeric else None
    for index, (patient, where) in enumerate(rows.groupby(schema.id_column, sort=False).indices.items()):
        marker = dict(size=4) if measured is None else \
            dict(size=7, symbol=np.where(measured[where], "circle", "circle-open"))
        drawn.add_scatter(
            x=rows[schema.time_column].to_numpy()[where], y=values[where], mode="lines+markers",
            name=f"{table} patient {patient}", line=dict(color=colours[index % len(colours)],
                                                          shape="linear" if is_numeric else "hv"),
            marker=marker, opacity=0.85, **position)


def trajectories_figure(df: pd.DataFrame, schema, variable: str, n_patients: int = 5, seed: int = 0,
                        table: str = "data", log_y: bool | None = None, mark_measured: bool = False) -> go.Figure:
    """``n_patients`` randomly chosen patients' values over time, one colour per patient.

    ``log_y`` fixes a numeric variable's axis (None: decided by the values drawn; a page showing
    one patient at a time passes the whole column's choice, so the axis does not change between
    patients). ``mark_measured`` draws measured values as dots and carried ones as rings."""
    spec = schema.variable(variable)
    ids = _sample_patients(df, schema, n_patients, seed, table)
    drawn = figure()
    _add_trajectories(drawn, df, schema, spec, ids, table, CATEGORY_COLOURS, mark_measured=mark_measured)
    _style_trajectory_axes(drawn, schema, spec, [df], [table], log_y)
    drawn.update_layout(title=f"{title(spec)}: {_patients(len(ids))} ({table})")
    return drawn


def trajectories_comparison_figure(real: pd.DataFrame, synthetic: pd.DataFrame, schema, variable: str,
                                   n_patients: int = 5, seed: int = 0) -> go.Figure:
    """Example patients side by side: real (blue) | synthetic (orange), on the same axes (time and values)."""
    spec = schema.variable(variable)
    drawn = subplots(rows=1, cols=2, shared_xaxes="all", shared_yaxes=True, horizontal_spacing=0.04,
                     subplot_titles=("Real", "Synthetic"))
    for col, (df, table, colour) in enumerate(((real, "real", REAL_COLOUR),
                                               (synthetic, "synthetic", SYNTHETIC_COLOUR)), start=1):
        ids = _sample_patients(df, schema, n_patients, seed, table)
        _add_trajectories(drawn, df, schema, spec, ids, table, [colour], row=1, col=col)
    _style_trajectory_axes(drawn, schema, spec, [real, synthetic], ["real", "synthetic"])
    drawn.update_layout(title=f"{title(spec)}: {_patients(n_patients)} each", showlegend=False)
    return drawn


def _style_trajectory_axes(drawn: go.Figure, schema, spec, frames, tables, log_y: bool | None = None) -> None:
    drawn.update_xaxes(title_text=schema.time_column)
    if spec.kind == "numeric":
        if log_y is None:
            log_y = prefers_log_axis(np.concatenate([numeric(df, spec.name, t) for df, t in zip(frames, tables)]))
        drawn.update_yaxes(type="log" if log_y else "linear")
    else:
        order = category_order(spec, *(column(df, spec.name, t) for df, t in zip(frames, tables)))
        drawn.update_yaxes(type="category", categoryorder="array", categoryarray=order)
    drawn.update_layout(yaxis_title=title(spec))  # the first (left) y axis


def _patients(count: int) -> str:
    return f"{count} example patient{'' if count == 1 else 's'}"
