"""Correlation heatmaps, real | synthetic | difference, with the scores' own Pearson correlations.

The matrices come from ``hgym_core.evaluation._stats.pearson_matrix``, the function behind the
correlation similarity score, so a heatmap cell and the score agree: a column without spread (a
generator that made every patient "Male") correlates 0 with everything and is drawn as 0, not
left blank, and the figure says which variables have one value in one table only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hgym_core.evaluation._stats import no_spread, pearson_matrix
from hgym_core.plots._common import (
    MISSING_LABEL, category_codes, category_order, column, numeric, rows_noun, subplots,
)


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
            columns[spec.name] = numeric(df, spec.name, table)
            continue
        values = column(df, spec.name, table)
        order = [c for c in (categories or {}).get(spec.name) or category_order(spec, values) if c != MISSING_LABEL]
        codes = category_codes(values, order).astype(float)
        missing = values.isna().to_numpy()
        if spec.kind == "binary" and len(order) == 2:
            columns[f"{spec.name} = {order[1]}"] = np.where(missing, np.nan, codes == 1)
        elif not one_hot:
            columns[f"{spec.name} (code)"] = np.where(codes < 0, np.nan, codes)
        else:
            for index, category in enumerate(order):
                columns[f"{spec.name} = {category}"] = np.where(missing, np.nan, codes == index)
    return pd.DataFrame(columns)


def correlation_matrices(real: pd.DataFrame, synthetic: pd.DataFrame, schema,
                         one_hot: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pearson matrices (pairwise-complete, pooled over all rows) on shared columns; 0 for a column without spread."""
    categories = {spec.name: category_order(spec, column(real, spec.name, "real"),
                                            column(synthetic, spec.name, "synthetic"))
                  for spec in schema.variables if spec.kind != "numeric"}
    matrices = []
    for df, table in ((real, "real"), (synthetic, "synthetic")):
        columns = correlation_columns(df, schema, table, one_hot, categories)
        matrix = pearson_matrix(columns.to_numpy(dtype=float))
        matrices.append(pd.DataFrame(matrix, index=columns.columns, columns=columns.columns))
    return matrices[0], matrices[1]


def constant_variables(df: pd.DataFrame, schema, table: str) -> list[str]:
    """Variables with one value in every row where they have one (or no value at all)."""
    flat = []
    for spec in schema.variables:
        if spec.kind == "numeric":
            values = numeric(df, spec.name, table)
        else:
            labels = column(df, spec.name, table)
            values = category_codes(labels, category_order(spec, labels)).astype(float)
            values[labels.isna().to_numpy()] = np.nan
        if no_spread(values[:, None])[0]:
            flat.append(spec.name)
    return flat


def correlation_heatmaps_figure(real: pd.DataFrame, synthetic: pd.DataFrame, schema,
                                one_hot: bool = True) -> go.Figure:
    """Correlation heatmaps real | synthetic | synthetic − real on one colour scale (−1 to 1)."""
    real_matrix, synthetic_matrix = correlation_matrices(real, synthetic, schema, one_hot)
    labels = list(real_matrix.columns)
    encoding = "categoricals one-hot" if one_hot else "categoricals as codes in category order"
    drawn = subplots(rows=1, cols=3, shared_yaxes=True, horizontal_spacing=0.02,
                     subplot_titles=("Real", "Synthetic", "Synthetic − real"))
    for col, matrix in enumerate((real_matrix, synthetic_matrix, synthetic_matrix - real_matrix), start=1):
        drawn.add_heatmap(z=matrix.to_numpy(), x=labels, y=labels, coloraxis="coloraxis",
                          hovertemplate="%{y} × %{x}: %{z:.2f}<extra></extra>", row=1, col=col)
    drawn.update_layout(
        title=f"Pearson correlations over {rows_noun(schema)} ({encoding}, binaries 0/1)",
        coloraxis=dict(colorscale="RdBu_r", cmin=-1, cmax=1, colorbar_title="ρ"),
        height=max(450, 14 * len(labels) + 200))
    _note_lost_correlations(drawn, real, synthetic, schema)
    drawn.update_yaxes(autorange="reversed", tickfont_size=9)
    drawn.update_xaxes(tickfont_size=9, tickangle=-60)
    return drawn


def _note_lost_correlations(drawn: go.Figure, real: pd.DataFrame, synthetic: pd.DataFrame, schema) -> None:
    """Under the title: variables with one value in every row of one table only (drawn as 0 there)."""
    real_flat, synthetic_flat = set(constant_variables(real, schema, "real")), \
        set(constant_variables(synthetic, schema, "synthetic"))
    parts = []
    for flat, other, table in ((synthetic_flat, real_flat, "synthetic"), (real_flat, synthetic_flat, "real")):
        lost = [name for name in schema.names if name in flat and name not in other]
        if lost:
            parts.append(f"one value in every {table} row: {', '.join(lost)}")
    if parts:
        drawn.add_annotation(text="; ".join(parts) + " — drawn as ρ = 0; the score counts each of their pairs "
                                                     "as |Δρ| = 1", xref="paper", yref="paper", x=0, y=1.08,
                             xanchor="left", showarrow=False, font=dict(size=11, color="#a33"))
