"""CSV cells a spreadsheet would run: OWASP's "CSV injection" (formula injection).

A label such as ``=HYPERLINK("http://x","click")`` in an uploaded table is learnt and comes
back in the synthetic table; opened in Excel or LibreOffice, a cell starting with ``=``, ``+``,
``-`` or ``@`` (or a tab or carriage return before one) is evaluated as a formula. Such text
cells get a leading ``'``, which spreadsheets read as "this is text" and do not show.

Numbers are left alone: a numeric column is never text (a negative number is not a formula),
and neither is a text cell that is just a number such as ``-2`` or ``+1.5`` (a spreadsheet
reads it as that number; nothing runs), so numeric labels like "-1" read back unchanged.
"""

from __future__ import annotations

import pandas as pd

FORMULA_START = r"[=+\-@\t\r]"
PLAIN_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"


def spreadsheet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell a spreadsheet would evaluate prefixed by ``'``; a copy only if one is."""
    changed = {}
    for name in df.columns:
        values = df[name]
        if isinstance(values.dtype, pd.CategoricalDtype):
            categories = values.cat.categories.to_series()
            if _is_text(categories):
                safe = _quoted(categories)
                if not safe.equals(categories):
                    changed[name] = values.cat.rename_categories(list(safe))
        elif _is_text(values):
            safe = _quoted(values)
            if not safe.equals(values):
                changed[name] = safe
    if not changed:
        return df
    safe = df.copy(deep=False)   # the untouched columns stay shared
    for name, values in changed.items():
        safe[name] = values
    return safe


def _is_text(values: pd.Series) -> bool:
    return values.dtype == object or isinstance(values.dtype, pd.StringDtype)


def _quoted(values: pd.Series) -> pd.Series:
    # Mixed object columns hold numbers too: only str cells can be formulas.
    text = values.map(lambda v: v if isinstance(v, str) else None) if values.dtype == object else values
    risky = text.str.match(FORMULA_START, na=False) & ~text.str.fullmatch(PLAIN_NUMBER, na=False)
    if not risky.any():
        return values
    return values.where(~risky, "'" + text.fillna(""))
