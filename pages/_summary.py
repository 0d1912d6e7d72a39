"""What the Data page shows about a table: counts, per-variable statistics and missing rates."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from hgym_core.schema import Schema


@st.cache_resource(max_entries=8, show_spinner=False)
def table_summary(token: str, schema_json: str, _frame: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """Counts for the whole table and one statistics row per variable (cached per data and schema)."""
    schema = Schema.from_json(schema_json)
    rows_per_patient = _frame.groupby(schema.id_column, sort=False).size()
    counts = {"patients": len(rows_per_patient), "rows": len(_frame),
              "steps": int(rows_per_patient.max()), "median steps": float(rows_per_patient.median()),
              "variables": len(schema.variables)}
    return counts, pd.DataFrame([_variable_row(_frame[v.name], v) for v in schema.variables])


def _variable_row(values: pd.Series, variable) -> dict:
    row = {"variable": variable.name, "kind": variable.kind, "unit": variable.unit,
           "missing": float(values.isna().mean())}
    if variable.kind == "numeric":
        numbers = pd.to_numeric(values, errors="coerce")
        quantiles = numbers.quantile([0.25, 0.5, 0.75])
        row.update(mean=numbers.mean(), sd=numbers.std(), min=numbers.min(), q25=quantiles[0.25],
                   median=quantiles[0.5], q75=quantiles[0.75], max=numbers.max())
    else:
        shares = values.value_counts(normalize=True)
        row["shares"] = ", ".join(f"{label} {share:.0%}" for label, share in shares.head(6).items())
    return row
