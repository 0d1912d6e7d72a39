"""What every figure shares: the palette, reading columns, category order and codes, axes, words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hgym_core.errors import HGymError
from hgym_core.evaluation.labels import distinct_keys, keyed_codes, label_key

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


# --------------------------------------------------------------------------- columns

def column(df: pd.DataFrame, name: str, table: str) -> pd.Series:
    if name not in df.columns:
        raise HGymError(
            f"Column '{name}' is missing from the {table} table (it has {len(df.columns)} columns: "
            f"{', '.join(map(str, list(df.columns)[:12]))}{' …' if len(df.columns) > 12 else ''}). "
            f"Compare tables that share the schema, or pick another variable.")
    return df[name]


def numeric(df: pd.DataFrame, name: str, table: str) -> np.ndarray:
    """The column as float64 (NaN where missing); HGymError if it holds text."""
    values_column = column(df, name, table)
    values = pd.to_numeric(values_column, errors="coerce")
    bad = values.isna() & values_column.notna()
    if bad.any():
        example = values_column[bad].iloc[0]
        raise HGymError(
            f"Column '{name}' of the {table} table is numeric in the schema but holds text such as "
            f"{example!r} (row {bad.idxmax()}); fix those values or mark '{name}' as categorical.")
    return values.to_numpy(dtype=float, na_value=np.nan)


def category_order(variable, *columns: pd.Series) -> list[str]:
    """The schema's category order, then labels the schema does not list (sorted), then missing.

    Labels are their text keys (``hgym_core.evaluation.labels``), as the scores see them: 1, 1.0
    and "1" from a CSV round trip are one category.
    """
    order = [label_key(c) for c in (variable.categories or [])]
    seen = set().union(*(distinct_keys(c) for c in columns))
    extras = sorted(seen - set(order))
    missing = any(c.isna().any() for c in columns)
    return order + extras + ([MISSING_LABEL] if missing else [])


def category_codes(values: pd.Series, order: list[str]) -> np.ndarray:
    """Each row's position in ``order``; missing rows at MISSING_LABEL (-1 if the order lacks it or the label)."""
    codes = keyed_codes(values, [label for label in order if label != MISSING_LABEL])
    if MISSING_LABEL in order:
        codes[values.isna().to_numpy()] = order.index(MISSING_LABEL)
    return codes


def title(variable) -> str:
    return f"{variable.name} ({variable.unit})" if variable.unit else variable.name


def rows_noun(schema) -> str:
    """What one row of the table is, for axis titles: "visits" for irregular times; for steps
    "patient-months" when the time column is named for months, else "patient-steps"."""
    if schema.time_mode == "irregular":
        return "visits"
    return "patient-months" if "month" in schema.time_column.lower() else "patient-steps"


def time_axis(df: pd.DataFrame, schema, table: str) -> tuple[np.ndarray, str]:
    """Per-row time-step index for per-step summaries, and the axis title.

    Step data uses the time column as is. Irregular data (days since first visit, ...) has no
    common grid, so summaries go by visit number within the patient instead.
    """
    if schema.time_mode == "step":
        return numeric(df, schema.time_column, table), schema.time_column
    frame = pd.DataFrame({"id": column(df, schema.id_column, table).to_numpy(),
                          "time": numeric(df, schema.time_column, table)})
    visit = frame.sort_values(["id", "time"], kind="stable").groupby("id", sort=False).cumcount()
    return visit.sort_index().to_numpy(dtype=float), f"visit number (by {schema.time_column})"


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


# --------------------------------------------------------------------------- figures

def figure() -> go.Figure:
    return go.Figure(layout=dict(template=TEMPLATE))


def subplots(**options) -> go.Figure:
    drawn = make_subplots(**options)
    drawn.update_layout(template=TEMPLATE)
    return drawn


def fill(colour: str, alpha: float) -> str:
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def empty_figure(figure_title: str, message: str) -> go.Figure:
    drawn = figure()
    drawn.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    drawn.update_layout(title=figure_title, xaxis_visible=False, yaxis_visible=False)
    return drawn


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


def step_histogram(edges: np.ndarray, shares: np.ndarray, name: str, colour: str, **kwargs) -> go.Scatter:
    """A histogram outline drawn as one step line: works on log axes, where bars do not."""
    x = np.concatenate([[edges[0]], edges, [edges[-1]]])
    y = np.concatenate([[0.0], shares, [shares[-1], 0.0]])
    upper = np.concatenate([[edges[1]], edges[1:], [edges[-1], edges[-1]]])
    return go.Scatter(
        x=x, y=y, name=name, mode="lines", line=dict(color=colour, width=2, shape="hv"),
        fill="tozeroy", fillcolor=fill(colour, 0.25), customdata=upper,
        hovertemplate="%{x:.4g} to %{customdata:.4g}: %{y:.1%}<extra>" + name + "</extra>", **kwargs)
