"""What the Data page shows about a table: counts, per-variable statistics and missing rates."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from hgym_core.data.schema import Schema

LONGEST, MEDIAN_STEPS = "longest patient (steps)", "median steps"


@st.cache_resource(max_entries=8, show_spinner=False)
def table_summary(token: str, schema_json: str, _frame: pd.DataFrame) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """Counts for the whole table, then one row per numeric variable and one per labelled
    (binary or categorical) variable; cached per data and schema."""
    schema = Schema.from_json(schema_json)
    rows_per_patient = _frame.groupby(schema.id_column, sort=False).size()
    counts = {"patients": len(rows_per_patient), "rows": len(_frame),
              LONGEST: int(rows_per_patient.max()), MEDIAN_STEPS: float(rows_per_patient.median()),
              "variables": len(schema.variables)}
    numeric = [_numeric_row(_frame[v.name], v) for v in schema.variables if v.kind == "numeric"]
    labelled = [_labelled_row(_frame[v.name], v) for v in schema.variables if v.kind != "numeric"]
    return counts, pd.DataFrame(numeric), pd.DataFrame(labelled)


def _numeric_row(values: pd.Series, variable) -> dict:
    numbers = pd.to_numeric(values, errors="coerce")
    quantiles = numbers.quantile([0.25, 0.5, 0.75])
    return {"variable": variable.name, "unit": variable.unit, "missing": float(values.isna().mean()),
            "mean": numbers.mean(), "sd": numbers.std(), "min": numbers.min(), "q25": quantiles[0.25],
            "median": quantiles[0.5], "q75": quantiles[0.75], "max": numbers.max()}


def _labelled_row(values: pd.Series, variable) -> dict:
    shares = values.value_counts(normalize=True)
    return {"variable": variable.name, "kind": variable.kind, "static": variable.static,
            "missing": float(values.isna().mean()),
            "shares": ", ".join(f"{label} {share:.0%}" for label, share in shares.items())}
