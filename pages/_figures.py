"""Axis choices the pages make the same way: viral load always on a log axis, and a patient viewer's
axis fixed by the whole column, so it does not switch between linear and log from patient to patient."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from hgym_core.plots import prefers_log_axis

ALWAYS_LOG = ("VL",)   # viral load spans five decades (the built-in cohort's VL; any table's column of that name)


def fixed_log_axis(name: str) -> bool | None:
    """True for a variable always drawn on a log axis; None lets the figure decide from its values."""
    return True if name in ALWAYS_LOG else None


@st.cache_data(max_entries=64, show_spinner=False)
def _column_prefers_log(token: str, name: str, _frame: pd.DataFrame) -> bool:
    return bool(prefers_log_axis(pd.to_numeric(_frame[name], errors="coerce").to_numpy(dtype=float)))


def column_log_axis(token: str, name: str, frame: pd.DataFrame) -> bool:
    """The axis for any part of a numeric column (one patient, say): the whole column's choice."""
    fixed = fixed_log_axis(name)
    return fixed if fixed is not None else _column_prefers_log(token, name, frame)
