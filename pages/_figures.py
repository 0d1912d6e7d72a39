"""What the pages do to figures the same way: viral load always on a log axis, a patient viewer's axis
fixed by the whole column (it does not switch between linear and log from patient to patient), and
names from the data drawn as typed (``plain_figure``)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go
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


# --------------------------------------------------------------------------- names in figures

# Plotly reads a subset of HTML in every text it draws (titles, legend names, tick labels,
# annotations, hover boxes): a label '<a href="http://…">Session expired</a>' becomes a link. As
# entities these characters show as typed; strings without them (colours, symbols) stay as they are.
HTML_SPECIALS = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
HOVER_EXTRA = re.compile(r"(<extra>)(.*?)(</extra>)", re.DOTALL)   # the one tag the figures write themselves


def plain_figure(figure: go.Figure) -> go.Figure:
    """``figure`` with every text in it (names and labels from the data among them) drawn as typed."""
    return go.Figure(_plain(figure.to_plotly_json(), ""))


def _plain(value, key: str):
    if isinstance(value, str):
        if key == "hovertemplate":
            return HOVER_EXTRA.sub(lambda found: found[1] + found[2].translate(HTML_SPECIALS) + found[3], value)
        return value.translate(HTML_SPECIALS)
    if isinstance(value, dict):
        return {name: item if name == "template" else _plain(item, name) for name, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item, key) for item in value]
    if isinstance(value, np.ndarray) and value.dtype == object:
        return np.array([_plain(item, key) for item in value], dtype=object)
    return value
