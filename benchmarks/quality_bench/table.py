"""One Markdown table per dataset: score | project | PAR | DGAN | reference (real vs holdout).

Every number comes from ``evaluate``'s report (``report.summary()``), aggregated as each row's
name says, except two computed here from the tables themselves: which variables have missing
cells (the missing-rate row averages over those) and, for the HIV cohort, the largest gap in a
category's share (the mode-collapse check). The reference column is the same aggregation of
the report's references: the training patients against the holdout patients.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from hgym_core.data.schema import Schema
from hgym_core.evaluation import Report
from hgym_core.evaluation._tables import label_key

Number = float | None
MIN_REAL_SHARE = 0.01           # categories rarer than this are left out of the share gap
# Scores another part of the project adds (per numeric variable, lower is better): shown once
# evaluate reports them.
MAX_ROWS = ("point-mass share difference", "held-value share difference")
CATEGORY_GAP = "largest category-share gap, categories with ≥ 1% real share (points; target ≤ 2)"
FIT = "fit seconds"


def score_rows(report: Report, reference: bool, real: pd.DataFrame, other: pd.DataFrame, schema: Schema,
               category_gap: bool) -> dict[str, tuple[Number, Number]]:
    """Row name -> (value, spread) for the synthetic side of ``report`` or, with ``reference``,
    its real-vs-holdout side; ``other`` is the synthetic table, or the holdout for the reference."""
    summary = report.summary()
    column = "reference" if reference else "value"

    def values(name: str, variables: list[str] | None = None) -> pd.Series:
        rows = summary[summary["score"] == name]
        if variables is not None:
            rows = rows[rows["variable"].isin(variables)]
        return rows[column].astype(float).dropna()

    def one(name: str, variable: str = "") -> Number:
        found = values(name, [variable])
        return float(found.iloc[0]) if len(found) else None

    def aggregate(found: pd.Series, how: str) -> Number:
        return float(getattr(found, how)()) if len(found) else None

    rows: dict[str, tuple[Number, Number]] = {
        "column shapes (mean of the per-variable KS / TV complements)": (one("column shapes"), None),
        "correlation similarity (1 − mean |Δρ| / 2 over pairs)": (one("correlation similarity"), None),
        "lag-1 autocorrelation difference (mean over numeric variables; 0 is best)":
            (aggregate(values("lag-1 autocorrelation difference"), "mean"), None),
        "sequence-length similarity (KS complement of rows per patient)":
            (one("sequence-length similarity"), None),
    }
    if schema.time_mode == "irregular":
        rows[f"visit-gap KS complement (derived `{schema.time_column} gap`)"] = (
            one("KS complement", f"{schema.time_column} gap"), None)
    with_missing = [name for name in schema.names if real[name].isna().any() or other[name].isna().any()]
    rows["missing-rate similarity (mean over variables with an empty cell in either table)"] = (
        aggregate(values("missing-rate similarity", with_missing), "mean"), None)
    discriminative = [s for s in report.scores if s.name == "discriminative score"]
    repeats = report.meta.get("settings", {}).get("detection_repeats")
    rows[f"discriminative score (mean ± spread over {repeats} repeats; 0 is best)"] = (
        one("discriminative score"),
        None if reference or not discriminative else discriminative[0].spread)
    rows["row-level detection AUC (0.5 is best)"] = (one("row detection AUC"), None)
    tstr = summary[summary["score"] == "TSTR MAE"]
    if len(tstr):
        target = tstr["variable"].iloc[0]
        rows[f"TSTR MAE of next-step `{target}` (reference: trained on real)"] = (one("TSTR MAE", target), None)
    else:
        rows["TSTR MAE (not scored: no time-varying numeric variable to predict)"] = (None, None)
    rows["DCR share (closer to training than to holdout; 0.5 is best)"] = (one("DCR share"), None)
    rows["exact copies (share of patients identical to a training patient)"] = (one("exact copies"), None)
    rows["membership inference AUC (0.5 is best)"] = (one("membership inference AUC"), None)
    rows["range adherence (min over variables)"] = (aggregate(values("range adherence"), "min"), None)
    if category_gap:
        rows[CATEGORY_GAP] = (largest_share_gap(real, other, schema)[0], None)
    for name in MAX_ROWS:
        if (summary["score"] == name).any():
            rows[f"{name} (max over variables; 0 is best)"] = (aggregate(values(name), "max"), None)
    return rows


def largest_share_gap(real: pd.DataFrame, other: pd.DataFrame, schema: Schema) -> tuple[Number, str]:
    """The largest |share real − share other| × 100 over the categories of every label variable
    whose real share (all patient-steps, empty cells left out) is at least 1%, and where it is."""
    best, where = None, ""
    for variable in schema.variables:
        if variable.kind == "numeric":
            continue
        real_shares = real[variable.name].dropna().map(label_key).value_counts(normalize=True)
        other_shares = other[variable.name].dropna().map(label_key).value_counts(normalize=True)
        for label, share in real_shares[real_shares >= MIN_REAL_SHARE].items():
            gap = 100.0 * abs(share - other_shares.get(label, 0.0))
            if best is None or gap > best:
                best, where = gap, f"{variable.name} = {label}"
    return best, where


def missing_variables(real: pd.DataFrame, others: dict[str, pd.DataFrame], schema: Schema) -> str:
    """Which variables the missing-rate row averages over, per table, for the notes."""
    parts = []
    for who, other in others.items():
        names = [n for n in schema.names if real[n].isna().any() or other[n].isna().any()]
        parts.append(f"{who}: {', '.join(f'`{n}`' for n in names) or 'none (row shows –)'}")
    return "; ".join(parts)


def cell(value: Number, spread: Number = None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    text = f"{value:.{digits}f}"
    return text if spread is None or not math.isfinite(spread) else f"{text} ± {spread:.{digits}f}"


def markdown(rows: dict[str, dict[str, tuple[Number, Number]]], columns: list[str]) -> str:
    """rows: row name -> column -> (value, spread); a column without the row shows its text."""
    header = ["score", *columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, by_column in rows.items():
        digits = 1 if name in (FIT, CATEGORY_GAP) else 3
        cells = [by_column[c] if isinstance(by_column.get(c), str) else cell(*by_column.get(c, (None, None)),
                                                                             digits=digits) for c in columns]
        lines.append("| " + " | ".join(text.replace("|", "\\|") for text in [name, *cells]) + " |")
    return "\n".join(lines)


def rows_per_patient(table: pd.DataFrame, id_column: str) -> str:
    lengths = table.groupby(id_column, sort=False).size()
    if lengths.min() == lengths.max():
        return f"{lengths.min()} rows per patient"
    return f"{lengths.min()}–{lengths.max()} rows per patient (median {np.median(lengths):g})"
