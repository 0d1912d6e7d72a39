"""Real vs synthetic, one variable at a time: its distribution, and how it moves over time."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hgym_core.errors import HGymError
from hgym_core.evaluation._stats import shares as category_shares
from hgym_core.evaluation.doses import on_share_by_step, point_masses
from hgym_core.plots._common import (
    CATEGORY_COLOURS, MISSING_LABEL, REAL_COLOUR, SYNTHETIC_COLOUR, category_codes, category_order, column,
    empty_figure, figure, fill, histogram_edges, histogram_shares, numeric, prefers_log_axis, rows_noun,
    step_histogram, subplots, time_axis, title,
)

# --------------------------------------------------------------------------- distributions


def distribution_figure(real: pd.DataFrame, synthetic: pd.DataFrame, schema, variable: str,
                        log_x: bool | None = None, bins: int = 40, per_patient: bool | None = None) -> go.Figure:
    """Real vs synthetic marginal of one variable, pooled over all rows, or over patients (one value
    each: ``per_patient``, by default for a static variable, whose rows only repeat it and would
    weigh a patient by their length).

    Numeric: overlaid histograms on shared bins from the pooled range, as shares of the
    non-missing values; ``log_x=None`` picks a log axis (log-spaced bins) for strongly
    right-skewed positive variables. Categorical and binary: grouped bars of shares of all
    rows, in the schema's category order, with a "(missing)" bar when values are missing.
    """
    spec = schema.variable(variable)
    if spec.static if per_patient is None else per_patient:
        real, synthetic = (column(df, schema.id_column, table).pipe(lambda ids: df[~ids.duplicated()])
                           for df, table in ((real, "real"), (synthetic, "synthetic")))
        per_patient = True
    if spec.kind == "numeric":
        return _numeric_distribution(real, synthetic, spec, log_x, bins, per_patient=bool(per_patient))
    real_column, synthetic_column = column(real, variable, "real"), column(synthetic, variable, "synthetic")
    order = category_order(spec, real_column, synthetic_column)
    rows = "patients" if per_patient else rows_noun(schema)
    drawn = figure()
    for values, name, colour in ((real_column, "Real", REAL_COLOUR), (synthetic_column, "Synthetic", SYNTHETIC_COLOUR)):
        shares = category_shares(category_codes(values, order).astype(float), len(order))
        drawn.add_bar(x=order, y=shares, name=name, marker_color=colour,
                      hovertemplate="%{x}: %{y:.1%}<extra>" + name + "</extra>")
    drawn.update_layout(title=f"{title(spec)}: share of {rows}", barmode="group",
                        xaxis=dict(title=title(spec), type="category", categoryorder="array", categoryarray=order),
                        yaxis=dict(title=f"share of {rows}", tickformat=".0%"))
    return drawn


def _numeric_distribution(real, synthetic, spec, log_x, bins, per_patient: bool = False) -> go.Figure:
    real_values = numeric(real, spec.name, "real")
    synthetic_values = numeric(synthetic, spec.name, "synthetic")
    pooled = np.concatenate([real_values, synthetic_values])
    figure_title = f"{title(spec)}: {'one value per patient, ' if per_patient else ''}real vs synthetic"
    if not np.isfinite(pooled).any():
        return empty_figure(figure_title, f"'{spec.name}' has no values in either table.")
    log = prefers_log_axis(pooled) if log_x is None else bool(log_x)
    hidden = int(np.sum(np.isfinite(pooled) & (pooled <= 0))) if log else 0
    if hidden == np.isfinite(pooled).sum():
        log, hidden = False, 0  # nothing positive: a log axis would be empty
    edges = histogram_edges(pooled, bins, log)
    drawn = figure()
    for values, name, colour in ((real_values, "Real", REAL_COLOUR),
                                 (synthetic_values, "Synthetic", SYNTHETIC_COLOUR)):
        drawn.add_trace(step_histogram(edges, histogram_shares(values, edges), name, colour))
    drawn.update_layout(title=figure_title,
                        xaxis=dict(title=title(spec) + (" — log scale" if log else ""),
                                   type="log" if log else "linear"),
                        yaxis=dict(title="share of patients with a value" if per_patient else "share of non-missing values",
                                   tickformat=".0%"))
    if hidden:
        drawn.add_annotation(text=f"{hidden} values ≤ 0 are not shown on the log axis",
                             xref="paper", yref="paper", x=1, y=1.05, showarrow=False, xanchor="right")
    return drawn


# --------------------------------------------------------------------------- over time

def _step_quantiles(df, schema, spec, table: str, min_patients: int) -> pd.DataFrame:
    steps, _ = time_axis(df, schema, table)
    values = pd.Series(numeric(df, spec.name, table)).groupby(steps)
    summary = values.quantile([0.25, 0.5, 0.75]).unstack()
    summary["n"] = values.count()
    return summary[summary["n"] >= min_patients]


def time_band_figure(real: pd.DataFrame, synthetic: pd.DataFrame, schema, variable: str,
                     log_y: bool | None = None, min_patients: int = 5) -> go.Figure:
    """Median line and inter-quartile band of a numeric variable at each time step.

    Steps where fewer than ``min_patients`` patients have a value are left out (with
    variable-length data the last steps hold a handful of patients and only add noise).
    """
    spec = schema.variable(variable)
    if spec.kind != "numeric":
        raise HGymError(f"'{variable}' is {spec.kind}; time bands are for numeric variables — "
                        f"use category_share_over_time_figure for it.")
    _, x_title = time_axis(real, schema, "real")
    drawn = figure()
    for df, name, colour in ((real, "Real", REAL_COLOUR), (synthetic, "Synthetic", SYNTHETIC_COLOUR)):
        summary = _step_quantiles(df, schema, spec, name.lower(), min_patients)
        steps = summary.index.to_numpy()
        drawn.add_scatter(x=steps, y=summary[0.75], mode="lines", line=dict(width=0, color=colour),
                          legendgroup=name, showlegend=False, hoverinfo="skip")
        drawn.add_scatter(x=steps, y=summary[0.25], mode="lines", line=dict(width=0, color=colour),
                          fill="tonexty", fillcolor=fill(colour, 0.2), legendgroup=name,
                          name=f"{name} inter-quartile band", hoverinfo="skip")
        drawn.add_scatter(x=steps, y=summary[0.5], mode="lines", name=f"{name} median",
                          line=dict(color=colour, width=2), legendgroup=name,
                          customdata=np.stack([summary[0.25], summary[0.75], summary["n"]], axis=-1),
                          hovertemplate="step %{x}: median %{y:.4g}, IQR %{customdata[0]:.4g} to "
                                        "%{customdata[1]:.4g} (n=%{customdata[2]})<extra>" + name + "</extra>")
    if log_y is None:  # same choice as the variable's histogram
        log_y = prefers_log_axis(np.concatenate([numeric(real, variable, "real"),
                                                 numeric(synthetic, variable, "synthetic")]))
    drawn.update_layout(title=f"{title(spec)} over time: median and inter-quartile range",
                        xaxis_title=x_title,
                        yaxis=dict(title=title(spec), type="log" if log_y else "linear"))
    return drawn


def category_shares_by_step(df: pd.DataFrame, schema, variable: str, table: str,
                            order: Sequence[str] | None = None) -> pd.DataFrame:
    """Share of each category (columns, ``order``) among the rows of each time step (index).

    Missing values count as their own category, so each row of the result sums to 1.
    """
    spec = schema.variable(variable)
    values = column(df, variable, table)
    order = list(order or category_order(spec, values))
    codes = category_codes(values, order)
    steps, _ = time_axis(df, schema, table)
    keep = np.isfinite(steps) & (codes >= 0)
    step_values, step_index = np.unique(steps[keep], return_inverse=True)
    counts = np.bincount(step_index * len(order) + codes[keep],
                         minlength=len(step_values) * len(order)).reshape(len(step_values), len(order))
    return pd.DataFrame(counts / counts.sum(axis=1, keepdims=True), index=step_values, columns=order)


def category_share_over_time_figure(real: pd.DataFrame, synthetic: pd.DataFrame, schema,
                                    variable: str) -> go.Figure:
    """Stacked shares of each category at each step, real | synthetic side by side."""
    spec = schema.variable(variable)
    if spec.kind == "numeric":
        raise HGymError(f"'{variable}' is numeric; category shares are for binary and categorical "
                        f"variables — use time_band_figure for it.")
    order = category_order(spec, column(real, variable, "real"), column(synthetic, variable, "synthetic"))
    _, x_title = time_axis(real, schema, "real")
    drawn = subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04, subplot_titles=("Real", "Synthetic"))
    for col, (df, table) in enumerate(((real, "real"), (synthetic, "synthetic")), start=1):
        shares = category_shares_by_step(df, schema, variable, table, order)
        for index, category in enumerate(order):
            colour = "#BBBBBB" if category == MISSING_LABEL else CATEGORY_COLOURS[index % len(CATEGORY_COLOURS)]
            drawn.add_scatter(x=shares.index.to_numpy(), y=shares[category].to_numpy(), name=category,
                              stackgroup=table, mode="lines", line=dict(width=0.5, color=colour),
                              fillcolor=colour, legendgroup=category, showlegend=col == 1,
                              hovertemplate="step %{x}: %{y:.1%}<extra>" + category + "</extra>",
                              row=1, col=col)
    drawn.update_yaxes(tickformat=".0%", range=[0, 1])
    drawn.update_yaxes(title_text="share of patients", row=1, col=1)
    drawn.update_xaxes(title_text=x_title)
    drawn.update_layout(title=f"{title(spec)}: share of each category at each step")
    return drawn


# --------------------------------------------------------------------------- doses

def dose_like_variables(real: pd.DataFrame, schema) -> list[str]:
    """Numeric variables (not static: one value per patient does not switch on and off) whose real
    values sit at a point mass at 0, or one holding ≥ 30% of the rows (``hgym_core.evaluation.doses``):
    drawn as on/off bands over time."""
    return [v.name for v in schema.variables
            if v.kind == "numeric" and not v.static and point_masses(numeric(real, v.name, "real")).dose_like]


def dose_bands_figure(real: pd.DataFrame, synthetic: pd.DataFrame, schema, variable: str,
                      min_patients: int = 5) -> go.Figure:
    """Share of patients "on" at each time step, real vs synthetic, for a dose-like numeric variable.

    "On" is any value other than the real data's "off" value: 0 when 0 is a point mass, else its
    largest point mass, compared after rounding to the real column's decimals. Steps where fewer
    than ``min_patients`` patients have a value are left out.
    """
    spec = schema.variable(variable)
    if spec.kind != "numeric":
        raise HGymError(f"'{variable}' is {spec.kind}; on/off bands are for numeric dose variables — "
                        f"use category_share_over_time_figure for it.")
    masses = point_masses(numeric(real, variable, "real"))
    if not masses.values:
        return empty_figure(f"{title(spec)}: share on over time",
                            f"No value holds 5% or more of the real '{variable}' rows: nothing to call \"off\".")
    _, x_title = time_axis(real, schema, "real")
    drawn = figure()
    for df, name, colour in ((real, "Real", REAL_COLOUR), (synthetic, "Synthetic", SYNTHETIC_COLOUR)):
        steps, _ = time_axis(df, schema, name.lower())
        at, share, counts = on_share_by_step(numeric(df, variable, name.lower()), steps, masses, min_patients)
        drawn.add_scatter(x=at, y=share, mode="lines", name=f"{name}: on", line=dict(color=colour, width=2),
                          fill="tozeroy", fillcolor=fill(colour, 0.2), customdata=counts,
                          hovertemplate="step %{x}: %{y:.1%} on (n=%{customdata})<extra>" + name + "</extra>")
    drawn.update_layout(title=f"{title(spec)}: share of patients on (≠ {masses.off_value:g}) at each step",
                        xaxis_title=x_title, yaxis=dict(title="share on", tickformat=".0%", range=[0, 1]))
    return drawn
