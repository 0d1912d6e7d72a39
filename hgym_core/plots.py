"""Plotly figures: real vs synthetic patients, privacy distances and training curves.

The dashboard (Compare and Train pages) and the HTML report draw the same figures from here;
nothing in this module imports Streamlit. Every figure is built from summaries — histogram
shares, per-step quantiles, correlation matrices, a few example patients, a decimated loss
history — so its size does not grow with the number of patient-months: a figure for 8,916
patients x 60 months is as light as one for 50 patients.

Colours are the Okabe-Ito palette (safe for the common colour-vision deficiencies): real data
is always blue, synthetic data always orange.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hgym_core.errors import HGymError

REAL_COLOUR = "#0072B2"
SYNTHETIC_COLOUR = "#E69F00"
TRAINING_COLOUR = "#D55E00"
HOLDOUT_COLOUR = "#009E73"
# Okabe-Ito first, then Paul Tol's "safe" colours for schemas with many categories.
CATEGORY_COLOURS = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
    "#88CCEE", "#CC6677", "#DDCC77", "#117733", "#332288", "#AA4499", "#44AA99", "#999933",
    "#882255", "#661100", "#888888",
)
MISSING_LABEL = "(missing)"
TEMPLATE = "plotly_white"
DEFAULT_LOSS_SERIES = ("d_loss", "w", "gp", "g_loss", "corr")
LOSS_SERIES_TITLES = {
    "d_loss": "Critic loss D_loss",
    "g_loss": "Generator loss G_loss",
    "w": "Wasserstein estimate W = D_real − D_fake",
    "gp": "Gradient penalty GP",
    "corr": "Correlation loss Corr",
    "d_real": "D_real (mean critic score, real)",
    "d_fake": "D_fake (mean critic score, synthetic)",
}


# --------------------------------------------------------------------------- shared helpers

def _column(df: pd.DataFrame, name: str, table: str) -> pd.Series:
    if name not in df.columns:
        raise HGymError(
            f"Column '{name}' is missing from the {table} table (it has {len(df.columns)} columns: "
            f"{', '.join(map(str, list(df.columns)[:12]))}{' …' if len(df.columns) > 12 else ''}). "
            f"Compare tables that share the schema, or pick another variable.")
    return df[name]


def _numeric(df: pd.DataFrame, name: str, table: str) -> np.ndarray:
    """The column as float64 (NaN where missing); HGymError if it holds text."""
    column = _column(df, name, table)
    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna() & column.notna()
    if bad.any():
        example = column[bad].iloc[0]
        raise HGymError(
            f"Column '{name}' of the {table} table is numeric in the schema but holds text such as "
            f"{example!r} (row {bad.idxmax()}); fix those values or mark '{name}' as categorical.")
    return values.to_numpy(dtype=float, na_value=np.nan)


def _label(value) -> str:
    """Display label that makes 1, 1.0 and '1' (a CSV round trip) the same category."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


class Coded(NamedTuple):
    """A categorical column as an integer code per row into ``labels`` (missing has a label too)."""

    codes: np.ndarray
    labels: list[str]


def _coded(df: pd.DataFrame, name: str, table: str) -> Coded:
    """Factorise once, then label only the distinct values: fast on 500k-row tables."""
    codes, uniques = pd.factorize(_column(df, name, table))
    raw_labels = [_label(value) for value in uniques]
    positions: dict[str, int] = {}
    for label in raw_labels:
        positions.setdefault(label, len(positions))  # 1 and 1.0 share one label
    merge = np.array([positions[label] for label in raw_labels] + [len(positions)], dtype=np.int64)
    codes = merge[codes]  # factorize's -1 (missing) picks the last entry
    labels = list(positions)
    if (codes == len(labels)).any():
        labels.append(MISSING_LABEL)
    return Coded(codes, labels)


def _recode(coded: Coded, order: Sequence[str]) -> np.ndarray:
    """Each row's position in ``order``; -1 for a label the order does not hold."""
    position = {label: index for index, label in enumerate(order)}
    lookup = np.array([position.get(label, -1) for label in coded.labels] or [-1], dtype=np.int64)
    return lookup[coded.codes]


def _category_order(variable, *coded: Coded) -> list[str]:
    """The schema's category order, then values the schema does not list, then missing."""
    order = [_label(c) for c in (variable.categories or [])]
    seen = set().union(*(c.labels for c in coded))
    extras = sorted(seen - set(order) - {MISSING_LABEL})
    return order + extras + ([MISSING_LABEL] if MISSING_LABEL in seen else [])


def _shares(codes: np.ndarray, size: int) -> np.ndarray:
    return np.bincount(codes, minlength=size) / max(len(codes), 1)


def _title(variable) -> str:
    return f"{variable.name} ({variable.unit})" if variable.unit else variable.name


def _time_axis(df: pd.DataFrame, schema, table: str) -> tuple[np.ndarray, str]:
    """Per-row time-step index for per-step summaries, and the axis title.

    Step data uses the time column as is. Irregular data (days since first visit, ...) has no
    common grid, so summaries go by visit number within the patient instead.
    """
    if schema.time_mode == "step":
        return _numeric(df, schema.time_column, table), schema.time_column
    frame = pd.DataFrame({"id": _column(df, schema.id_column, table).to_numpy(),
                          "time": _numeric(df, schema.time_column, table)})
    visit = frame.sort_values(["id", "time"], kind="stable").groupby("id", sort=False).cumcount()
    return visit.sort_index().to_numpy(dtype=float), f"visit number (by {schema.time_column})"


def _figure() -> go.Figure:
    return go.Figure(layout=dict(template=TEMPLATE))


def _subplots(**options) -> go.Figure:
    figure = make_subplots(**options)
    figure.update_layout(template=TEMPLATE)
    return figure


def _fill(colour: str, alpha: float) -> str:
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def _empty_figure(title: str, message: str) -> go.Figure:
    figure = _figure()
    figure.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    figure.update_layout(title=title, xaxis_visible=False, yaxis_visible=False)
    return figure


def prefers_log_axis(values: np.ndarray) -> bool:
    """True for strongly right-skewed positive values spanning decades (viral load, say).

    Such a variable on a linear axis shows one tall bar at zero and an invisible tail.
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size < 3 or values.min() <= 0:
        return False
    low, high = np.quantile(values, [0.01, 0.99])
    spread = values.std()
    skew = float(np.mean((values - values.mean()) ** 3) / spread ** 3) if spread > 0 else 0.0
    return skew > 2 and high / low >= 100


# --------------------------------------------------------------------------- distributions

def histogram_edges(values: np.ndarray, bins: int = 40, log: bool = False) -> np.ndarray:
    """Bin edges over the pooled range of ``values`` (log-spaced when ``log``)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values) & ((values > 0) if log else True)]
    if values.size == 0:
        raise HGymError("There are no values to bin; the variable is empty in both tables.")
    low, high = float(values.min()), float(values.max())
    if low == high:  # a constant: one bin around it
        low, high = (low / 2, high * 2) if log else (low - 0.5, high + 0.5)
    return np.geomspace(low, high, bins + 1) if log else np.linspace(low, high, bins + 1)


def histogram_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of the non-missing values in each bin (values outside the edges count as neither)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    counts, _ = np.histogram(values, bins=edges)
    return counts / values.size if values.size else counts.astype(float)


def _step_histogram(edges: np.ndarray, shares: np.ndarray, name: str, colour: str, **kwargs) -> go.Scatter:
    """A histogram outline drawn as one step line: works on log axes, where bars do not."""
    x = np.concatenate([[edges[0]], edges, [edges[-1]]])
    y = np.concatenate([[0.0], shares, [shares[-1], 0.0]])
    upper = np.concatenate([[edges[1]], edges[1:], [edges[-1], edges[-1]]])
    return go.Scatter(
        x=x, y=y, name=name, mode="lines", line=dict(color=colour, width=2, shape="hv"),
        fill="tozeroy", fillcolor=_fill(colour, 0.25), customdata=upper,
        hovertemplate="%{x:.4g} to %{customdata:.4g}: %{y:.1%}<extra>" + name + "</extra>", **kwargs)


def distribution_figure(real: pd.DataFrame, synthetic: pd.DataFrame, schema, variable: str,
                        log_x: bool | None = None, bins: int = 40) -> go.Figure:
    """Real vs synthetic marginal of one variable, pooled over all patient-months.

    Numeric: overlaid histograms on shared bins from the pooled range, as shares of the
    non-missing values; ``log_x=None`` picks a log axis (log-spaced bins) for strongly
    right-skewed positive variables. Categorical and binary: grouped bars of shares of all
    rows, in the schema's category order, with a "(missing)" bar when values are missing.
    """
    spec = schema.variable(variable)
    if spec.kind == "numeric":
        return _numeric_distribution(real, synthetic, spec, log_x, bins)
    real_coded, synthetic_coded = _coded(real, variable, "real"), _coded(synthetic, variable, "synthetic")
    order = _category_order(spec, real_coded, synthetic_coded)
    figure = _figure()
    for coded, name, colour in ((real_coded, "Real", REAL_COLOUR), (synthetic_coded, "Synthetic", SYNTHETIC_COLOUR)):
        shares = _shares(_recode(coded, order), len(order))
        figure.add_bar(x=order, y=shares, name=name, marker_color=colour,
                       hovertemplate="%{x}: %{y:.1%}<extra>" + name + "</extra>")
    figure.update_layout(title=f"{_title(spec)}: share of patient-months", barmode="group",
                         xaxis=dict(title=_title(spec), type="category", categoryorder="array",
                                    categoryarray=order),
                         yaxis=dict(title="share of patient-months", tickformat=".0%"))
    return figure


def _numeric_distribution(real, synthetic, spec, log_x, bins) -> go.Figure:
    real_values = _numeric(real, spec.name, "real")
    synthetic_values = _numeric(synthetic, spec.name, "synthetic")
    pooled = np.concatenate([real_values, synthetic_values])
    title = f"{_title(spec)}: real vs synthetic"
    if not np.isfinite(pooled).any():
        return _empty_figure(title, f"'{spec.name}' has no values in either table.")
    log = prefers_log_axis(pooled) if log_x is None else bool(log_x)
    hidden = int(np.sum(np.isfinite(pooled) & (pooled <= 0))) if log else 0
    if hidden == np.isfinite(pooled).sum():
        log, hidden = False, 0  # nothing positive: a log axis would be empty
    edges = histogram_edges(pooled, bins, log)
    figure = _figure()
    for values, name, colour in ((real_values, "Real", REAL_COLOUR),
                                 (synthetic_values, "Synthetic", SYNTHETIC_COLOUR)):
        figure.add_trace(_step_histogram(edges, histogram_shares(values, edges), name, colour))
    figure.update_layout(title=title,
                         xaxis=dict(title=_title(spec) + (" — log scale" if log else ""),
                                    type="log" if log else "linear"),
                         yaxis=dict(title="share of non-missing values", tickformat=".0%"))
    if hidden:
        figure.add_annotation(text=f"{hidden} values ≤ 0 are not shown on the log axis",
                              xref="paper", yref="paper", x=1, y=1.05, showarrow=False,
                              xanchor="right")
    return figure


# --------------------------------------------------------------------------- over time

def _step_quantiles(df, schema, spec, table: str, min_patients: int) -> pd.DataFrame:
    steps, _ = _time_axis(df, schema, table)
    values = pd.Series(_numeric(df, spec.name, table)).groupby(steps)
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
    _, x_title = _time_axis(real, schema, "real")
    figure = _figure()
    for df, name, colour in ((real, "Real", REAL_COLOUR), (synthetic, "Synthetic", SYNTHETIC_COLOUR)):
        summary = _step_quantiles(df, schema, spec, name.lower(), min_patients)
        steps = summary.index.to_numpy()
        figure.add_scatter(x=steps, y=summary[0.75], mode="lines", line=dict(width=0, color=colour),
                           legendgroup=name, showlegend=False, hoverinfo="skip")
        figure.add_scatter(x=steps, y=summary[0.25], mode="lines", line=dict(width=0, color=colour),
                           fill="tonexty", fillcolor=_fill(colour, 0.2), legendgroup=name,
                           name=f"{name} inter-quartile band", hoverinfo="skip")
        figure.add_scatter(x=steps, y=summary[0.5], mode="lines", name=f"{name} median",
                           line=dict(color=colour, width=2), legendgroup=name,
                           customdata=np.stack([summary[0.25], summary[0.75], summary["n"]], axis=-1),
                           hovertemplate="step %{x}: median %{y:.4g}, IQR %{customdata[0]:.4g} to "
                                         "%{customdata[1]:.4g} (n=%{customdata[2]})<extra>" + name + "</extra>")
    if log_y is None:  # same choice as the variable's histogram
        log_y = prefers_log_axis(np.concatenate([_numeric(real, variable, "real"),
                                                 _numeric(synthetic, variable, "synthetic")]))
    figure.update_layout(title=f"{_title(spec)} over time: median and inter-quartile range",
                         xaxis_title=x_title,
                         yaxis=dict(title=_title(spec), type="log" if log_y else "linear"))
    return figure


def category_shares_by_step(df: pd.DataFrame, schema, variable: str, table: str,
                            order: Sequence[str] | None = None) -> pd.DataFrame:
    """Share of each category (columns, ``order``) among the rows of each time step (index).

    Missing values count as their own category, so each row of the result sums to 1.
    """
    spec = schema.variable(variable)
    coded = _coded(df, variable, table)
    order = list(order or _category_order(spec, coded))
    codes = _recode(coded, order)
    steps, _ = _time_axis(df, schema, table)
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
    order = _category_order(spec, _coded(real, variable, "real"), _coded(synthetic, variable, "synthetic"))
    _, x_title = _time_axis(real, schema, "real")
    figure = _subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                       subplot_titles=("Real", "Synthetic"))
    for col, (df, table) in enumerate(((real, "real"), (synthetic, "synthetic")), start=1):
        shares = category_shares_by_step(df, schema, variable, table, order)
        for index, category in enumerate(order):
            colour = "#BBBBBB" if category == MISSING_LABEL else CATEGORY_COLOURS[index % len(CATEGORY_COLOURS)]
            figure.add_scatter(x=shares.index.to_numpy(), y=shares[category].to_numpy(), name=category,
                               stackgroup=table, mode="lines", line=dict(width=0.5, color=colour),
                               fillcolor=colour, legendgroup=category, showlegend=col == 1,
                               hovertemplate="step %{x}: %{y:.1%}<extra>" + category + "</extra>",
                               row=1, col=col)
    figure.update_yaxes(tickformat=".0%", range=[0, 1])
    figure.update_yaxes(title_text="share of patients", row=1, col=1)
    figure.update_xaxes(title_text=x_title)
    figure.update_layout(title=f"{_title(spec)}: share of each category at each step")
    return figure


# --------------------------------------------------------------------------- correlations

def correlation_columns(df: pd.DataFrame, schema, table: str, one_hot: bool = True,
                        categories: Mapping[str, Sequence[str]] | None = None) -> pd.DataFrame:
    """The variables as float columns for Pearson correlations.

    Numeric as is; binary as 0/1 for its second category; categorical one indicator per
    category (``one_hot``) or its position in the category order. Missing stays NaN.
    ``categories`` fixes each variable's category order so two tables get the same columns.
    """
    columns: dict[str, np.ndarray] = {}
    for spec in schema.variables:
        if spec.kind == "numeric":
            columns[spec.name] = _numeric(df, spec.name, table)
            continue
        coded = _coded(df, spec.name, table)
        order = [c for c in (categories or {}).get(spec.name) or _category_order(spec, coded)
                 if c != MISSING_LABEL]
        codes = _recode(coded, order).astype(float)
        missing = _recode(coded, [MISSING_LABEL]) == 0
        if spec.kind == "binary" and len(order) == 2:
            columns[f"{spec.name} = {order[1]}"] = np.where(missing, np.nan, codes == 1)
        elif not one_hot:
            columns[f"{spec.name} (code)"] = np.where(codes < 0, np.nan, codes)
        else:
            for index, category in enumerate(order):
                columns[f"{spec.name} = {category}"] = np.where(missing, np.nan, codes == index)
    return pd.DataFrame(columns)


def pairwise_pearson(values: np.ndarray, chunk_rows: int = 65536) -> np.ndarray:
    """Pearson correlation of every pair of columns over the rows where both are present.

    What ``DataFrame.corr()`` computes, through matrix products over row chunks: 535k rows x
    40 columns take a fraction of a second and little memory. Constant pairs give NaN.
    """
    present = np.isfinite(values)
    counts = present.sum(axis=0)
    means = np.where(present, values, 0.0).sum(axis=0) / np.maximum(counts, 1)
    width = values.shape[1]
    n, sums, squares, products = (np.zeros((width, width)) for _ in range(4))
    complete = bool(present.all())
    for start in range(0, len(values), chunk_rows):
        mask = present[start:start + chunk_rows].astype(float)
        # Centring first keeps the one-pass formulas exact enough for values like 1e5 copies/mL.
        centred = np.where(mask > 0, values[start:start + chunk_rows] - means, 0.0)
        products += centred.T @ centred
        if complete:  # every pair uses every row: one product per chunk is enough
            n += len(mask)
            sums += centred.sum(axis=0)[:, None]
            squares += (centred ** 2).sum(axis=0)[:, None]
            continue
        n += mask.T @ mask
        sums += centred.T @ mask          # [i, j]: sum of column i where j is present too
        squares += (centred ** 2).T @ mask
    with np.errstate(invalid="ignore", divide="ignore"):
        covariance = products - sums * sums.T / n
        variance = squares - sums ** 2 / n
        correlation = covariance / np.sqrt(variance * variance.T)
    flat = (variance <= 1e-10 * squares) | (variance.T <= 1e-10 * squares.T) | (n < 2)
    correlation[flat] = np.nan
    return np.clip(correlation, -1.0, 1.0)


def correlation_matrices(real: pd.DataFrame, synthetic: pd.DataFrame, schema,
                         one_hot: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pearson matrices (pairwise-complete, pooled over patient-months) on shared columns."""
    categories = {spec.name: _category_order(spec, _coded(real, spec.name, "real"),
                                             _coded(synthetic, spec.name, "synthetic"))
                  for spec in schema.variables if spec.kind != "numeric"}
    matrices = []
    for df, table in ((real, "real"), (synthetic, "synthetic")):
        columns = correlation_columns(df, schema, table, one_hot, categories)
        matrix = pairwise_pearson(columns.to_numpy(dtype=float))
        matrices.append(pd.DataFrame(matrix, index=columns.columns, columns=columns.columns))
    return matrices[0], matrices[1]


def correlation_heatmaps_figure(real: pd.DataFrame, synthetic: pd.DataFrame, schema,
                                one_hot: bool = True) -> go.Figure:
    """Correlation heatmaps real | synthetic | synthetic − real on one colour scale (−1 to 1)."""
    real_matrix, synthetic_matrix = correlation_matrices(real, synthetic, schema, one_hot)
    labels = list(real_matrix.columns)
    encoding = "categoricals one-hot" if one_hot else "categoricals as codes in category order"
    figure = _subplots(rows=1, cols=3, shared_yaxes=True, horizontal_spacing=0.02,
                       subplot_titles=("Real", "Synthetic", "Synthetic − real"))
    for col, matrix in enumerate((real_matrix, synthetic_matrix, synthetic_matrix - real_matrix), start=1):
        figure.add_heatmap(z=matrix.to_numpy(), x=labels, y=labels, coloraxis="coloraxis",
                           hovertemplate="%{y} × %{x}: %{z:.2f}<extra></extra>", row=1, col=col)
    figure.update_layout(
        title=f"Pearson correlations over patient-months ({encoding}, binaries 0/1)",
        coloraxis=dict(colorscale="RdBu_r", cmin=-1, cmax=1, colorbar_title="ρ"),
        height=max(450, 14 * len(labels) + 200))
    figure.update_yaxes(autorange="reversed", tickfont_size=9)
    figure.update_xaxes(tickfont_size=9, tickangle=-60)
    return figure


# --------------------------------------------------------------------------- trajectories

def _sample_patients(df: pd.DataFrame, schema, n_patients: int, seed: int, table: str) -> list:
    ids = pd.unique(_column(df, schema.id_column, table))
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(ids), size=min(n_patients, len(ids)), replace=False)
    return [ids[i] for i in sorted(chosen)]


def _add_trajectories(figure: go.Figure, df: pd.DataFrame, schema, spec, ids: list, table: str,
                      colours: Sequence[str], **position) -> None:
    _column(df, schema.time_column, table)
    rows = df[df[schema.id_column].isin(ids)].sort_values([schema.id_column, schema.time_column])
    numeric = spec.kind == "numeric"
    if numeric:
        values = _numeric(rows, spec.name, table)
    else:
        coded = _coded(rows, spec.name, table)
        values = np.array(coded.labels, dtype=object)[coded.codes]
    for index, (patient, where) in enumerate(rows.groupby(schema.id_column, sort=False).indices.items()):
        figure.add_scatter(
            x=rows[schema.time_column].to_numpy()[where], y=values[where], mode="lines+markers",
            name=f"{table} patient {patient}", line=dict(color=colours[index % len(colours)],
                                                          shape="linear" if numeric else "hv"),
            marker_size=4, opacity=0.85, **position)


def trajectories_figure(df: pd.DataFrame, schema, variable: str, n_patients: int = 5, seed: int = 0,
                        table: str = "data") -> go.Figure:
    """``n_patients`` randomly chosen patients' values over time, one colour per patient."""
    spec = schema.variable(variable)
    ids = _sample_patients(df, schema, n_patients, seed, table)
    figure = _figure()
    _add_trajectories(figure, df, schema, spec, ids, table, CATEGORY_COLOURS)
    _style_trajectory_axes(figure, schema, spec, [df], [table])
    figure.update_layout(title=f"{_title(spec)}: {_patients(len(ids))} ({table})")
    return figure


def trajectories_comparison_figure(real: pd.DataFrame, synthetic: pd.DataFrame, schema, variable: str,
                                   n_patients: int = 5, seed: int = 0) -> go.Figure:
    """Example patients side by side: real (blue) | synthetic (orange), on the same y axis."""
    spec = schema.variable(variable)
    figure = _subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                       subplot_titles=("Real", "Synthetic"))
    for col, (df, table, colour) in enumerate(((real, "real", REAL_COLOUR),
                                               (synthetic, "synthetic", SYNTHETIC_COLOUR)), start=1):
        ids = _sample_patients(df, schema, n_patients, seed, table)
        _add_trajectories(figure, df, schema, spec, ids, table, [colour], row=1, col=col)
    _style_trajectory_axes(figure, schema, spec, [real, synthetic], ["real", "synthetic"])
    figure.update_layout(title=f"{_title(spec)}: {_patients(n_patients)} each", showlegend=False)
    return figure


def _style_trajectory_axes(figure: go.Figure, schema, spec, frames, tables) -> None:
    figure.update_xaxes(title_text=schema.time_column)
    if spec.kind == "numeric":
        pooled = np.concatenate([_numeric(df, spec.name, t) for df, t in zip(frames, tables)])
        figure.update_yaxes(type="log" if prefers_log_axis(pooled) else "linear")
    else:
        order = _category_order(spec, *(_coded(df, spec.name, t) for df, t in zip(frames, tables)))
        figure.update_yaxes(type="category", categoryorder="array", categoryarray=order)
    figure.update_layout(yaxis_title=_title(spec))  # the first (left) y axis


# --------------------------------------------------------------------------- privacy

def dcr_histogram_figure(dcr_train: Sequence[float], dcr_holdout: Sequence[float] | None = None,
                         bins: int = 40) -> go.Figure:
    """Each synthetic patient's distance to its closest training (and holdout) patient.

    With no memorisation the two histograms overlap; a training histogram shifted towards 0
    (or a spike at 0: exact copies) means real patients leak.
    """
    series = [(np.asarray(dcr_train, dtype=float), "to nearest training patient", TRAINING_COLOUR)]
    if dcr_holdout is not None:
        series.append((np.asarray(dcr_holdout, dtype=float), "to nearest holdout patient", HOLDOUT_COLOUR))
    pooled = np.concatenate([values for values, _, _ in series])
    if not np.isfinite(pooled).any():
        raise HGymError("There are no distances to plot; the DCR needs at least one synthetic "
                        "and one real patient.")
    edges = np.linspace(0.0, max(float(np.nanmax(pooled)), 1e-9), bins + 1)
    figure = _figure()
    for values, name, colour in series:
        figure.add_trace(_step_histogram(edges, histogram_shares(values, edges), name, colour))
    figure.update_layout(title="Distance to closest record (DCR) of each synthetic patient",
                         xaxis_title="distance (0 = identical patient, 1 = nothing in common)",
                         yaxis=dict(title="share of synthetic patients", tickformat=".0%"))
    return figure


# --------------------------------------------------------------------------- training curves

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
    available = [name for name in LOSS_SERIES_TITLES if name in frame.columns]
    chosen = list(series) if series is not None else [n for n in DEFAULT_LOSS_SERIES if n in frame.columns]
    unknown = [name for name in chosen if name not in frame.columns]
    if unknown:
        raise HGymError(f"No training series {', '.join(map(repr, unknown))}; choose from "
                        f"{', '.join(available) or 'none (the history is empty)'}.")
    if frame.empty or not chosen:
        return _empty_figure("Training curves", "No training steps yet.")
    steps = _history_steps(frame)
    changes = curriculum_changes(frame)
    show_length = len(changes) > 0
    titles = [LOSS_SERIES_TITLES.get(name, name) for name in chosen]
    rows = len(chosen) + show_length
    figure = _subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.04,
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


def _patients(count: int) -> str:
    return f"{count} example patient{'' if count == 1 else 's'}"
