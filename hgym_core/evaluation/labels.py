"""Category labels as codes, matched by their text form so file round trips do not split a category.

A CSV or Parquet round trip changes label types: 1 may come back as 1.0 or "1", True as "True".
``label_key`` gives each label a text form that survives both; ``keyed_codes`` codes a column
against a list of such keys. The scores (``_tables``) and the figures (``hgym_core.plots``)
code their label columns with it, so a category is the same category in both.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from hgym_core.data.validation import label_codes


def label_key(label: object) -> str:
    """Labels compare as text, so 1, 1.0 and "1" (or True and "True") are the same category."""
    if isinstance(label, (bool, np.bool_)):
        return str(bool(label))
    if isinstance(label, (int, float, np.integer, np.floating)) and float(label).is_integer():
        return str(int(label))
    return str(label).strip()


def distinct_keys(column: pd.Series) -> list[str]:
    """The keys of the column's non-missing labels, each once, in order of first appearance."""
    return list(dict.fromkeys(label_key(label) for label in pd.unique(column.dropna())))


def keyed_lookup(uniques: Sequence, keys: Sequence[str]) -> np.ndarray:
    """For ``pd.factorize``'s uniques: each one's position in ``keys`` (-1 when not listed), plus a
    trailing -1 that factorize's missing code (-1) picks."""
    unique_keys = pd.Series([label_key(label) for label in uniques], dtype=object)
    return np.append(label_codes(unique_keys, list(keys)), -1)


def keyed_codes(column: pd.Series, keys: Sequence[str]) -> np.ndarray:
    """Each cell's position in ``keys`` by its label's key; -1 for an empty cell or an unlisted label.

    Factorising first keys only the few distinct labels, not every cell.
    """
    codes, uniques = pd.factorize(column)
    return keyed_lookup(uniques, keys)[codes]
