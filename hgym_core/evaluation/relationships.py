"""Relationships between variables at the same step: correlations and contingency tables.

Correlation similarity: Pearson matrix over all patient-steps of the numeric variables, each
two-label variable as its 0/1 code and each many-label variable one-hot (one column per label);
pairs of columns from the same variable are left out (one-hot columns exclude each other by
construction). score = 1 − mean |ρ_real − ρ_syn| / 2 over the remaining pairs.

Contingency similarity: for every pair of variables, 1 − total variation distance between the
real and synthetic joint shares; numeric variables are cut at the real data's deciles (10 bins,
out-of-range values in the end bins), and a missing value is a level of its own, so joint
missingness counts too. The score is the mean over pairs.

Both also come per variable ("variable correlation similarity", "variable contingency
similarity"): the same mean over only the pairs that involve that variable. The overall means
dilute one broken variable among many pairs; the per-variable scores point at it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hgym_core.evaluation._stats import pearson_matrix, tv_complement
from hgym_core.evaluation._tables import Cohort, Cohorts, Layout
from hgym_core.evaluation.progress import Progress, no_progress
from hgym_core.evaluation.report import FamilyResult, Measurement, ScoreSpec, pair_measurements
from hgym_core.evaluation.settings import EvaluationSettings

GROUP = "relationships"
N_BINS = 10
SPECS = {s.name: s for s in (
    ScoreSpec(GROUP, "correlation similarity", "higher", 1.0, 0.025, 0.05,
              "1 − mean |ρ_real − ρ_syn| / 2 over pairs of Pearson correlations of all patient-steps "
              "(labels as 0/1 or one-hot columns)"),
    ScoreSpec(GROUP, "contingency similarity", "higher", 1.0, 0.05, 0.15,
              "mean over variable pairs of 1 − ½ Σ_(a,b) |P_real(a,b) − P_syn(a,b)|; numeric variables in "
              "10 bins at the real deciles, missing as its own level"),
    ScoreSpec(GROUP, "variable correlation similarity", "higher", 1.0, 0.025, 0.05,
              "correlation similarity over only the column pairs that involve this variable"),
    ScoreSpec(GROUP, "variable contingency similarity", "higher", 1.0, 0.05, 0.15,
              "contingency similarity over only the variable pairs that involve this variable"),
)}


@dataclass(frozen=True)
class CorrelationColumns:
    """Which correlation column comes from which variable, and its label for heatmaps."""

    names: list[str]
    owner: np.ndarray      # variable index of each column


def correlation_columns(layout: Layout) -> CorrelationColumns:
    names, owner = [], []
    for v, column in enumerate(layout.columns):
        if column.numeric:
            names.append(column.name)
            owner.append(v)
        elif len(column.labels) == 2:
            names.append(f"{column.name} = {column.labels[1]}")
            owner.append(v)
        else:
            names += [f"{column.name} = {label}" for label in column.labels]
            owner += [v] * len(column.labels)
    return CorrelationColumns(names, np.array(owner))


def correlation_matrix(cohort: Cohort, columns: CorrelationColumns) -> np.ndarray:
    rows = cohort.rows()
    x = np.empty((len(rows), len(columns.names)), order="F")    # filled column by column
    for v, column in enumerate(cohort.layout.columns):
        at = np.flatnonzero(columns.owner == v)
        block = slice(at[0], at[-1] + 1)             # a variable's columns are adjacent
        values = rows[:, v]
        if len(at) == 1:                             # numeric, or a two-label code 0/1
            x[:, block] = values[:, None]
        else:
            x[:, block] = values[:, None] == np.arange(len(at))
            missing = np.isnan(values)
            if missing.any():
                x[missing, block] = np.nan
    return pearson_matrix(x)


def correlation_similarity(real: np.ndarray, other: np.ndarray, columns: CorrelationColumns,
                           variable: int | None = None) -> float:
    """1 − mean |Δρ| / 2 over column pairs of different variables (only those involving ``variable`` if given)."""
    owner = columns.owner
    pairs = np.triu(np.ones_like(real, dtype=bool), k=1) & (owner[:, None] != owner[None, :])
    if variable is not None:
        pairs &= (owner[:, None] == variable) | (owner[None, :] == variable)
    if not pairs.any():
        return float("nan")
    return float(1.0 - np.abs(real - other)[pairs].mean() / 2.0)


class Levels:
    """Each variable's level per patient-step: label codes or real-decile bins, then a "missing" level."""

    def __init__(self, real: Cohort):
        rows = real.rows()
        self.edges: dict[int, np.ndarray] = {}
        self.sizes = []
        for v, column in enumerate(real.layout.columns):
            if column.numeric:
                finite = rows[np.isfinite(rows[:, v]), v]
                inner = np.quantile(finite, np.arange(1, N_BINS) / N_BINS) if len(finite) else np.array([])
                self.edges[v] = np.unique(inner)
                self.sizes.append(len(self.edges[v]) + 2)          # bins + missing
            else:
                self.sizes.append(len(column.labels) + 1)          # labels + missing

    def of(self, cohort: Cohort) -> list[np.ndarray]:
        """One contiguous int64 array of levels per variable (pairs are formed column by column)."""
        rows = cohort.rows()
        levels = []
        for v in range(rows.shape[1]):
            values = rows[:, v]
            if v in self.edges:
                coded = np.searchsorted(self.edges[v], values, side="right")
            else:
                coded = np.nan_to_num(values, nan=0.0).astype(np.int64)
            levels.append(np.where(np.isnan(values), self.sizes[v] - 1, coded))
        return levels


def joint_shares(levels: list[np.ndarray], sizes: list[int]) -> dict[tuple[int, int], np.ndarray]:
    tables = {}
    for i in range(len(levels)):
        for j in range(i + 1, len(levels)):
            counts = np.bincount(levels[i] * sizes[j] + levels[j], minlength=sizes[i] * sizes[j])
            tables[i, j] = counts / len(levels[i]) if len(levels[i]) else np.full(len(counts), np.nan)
    return tables


def contingency_similarity(real: dict, other: dict, variable: int | None = None) -> float:
    pairs = [pair for pair in real if variable is None or variable in pair]
    if not pairs:
        return float("nan")
    return float(np.mean([tv_complement(real[pair], other[pair]) for pair in pairs]))


def measure(cohorts: Cohorts, settings: EvaluationSettings, rng: np.random.Generator,
            max_patients: int | None = None, progress: Progress = no_progress) -> FamilyResult:
    columns = correlation_columns(cohorts.layout)
    levels = Levels(cohorts.real)
    real_corr = correlation_matrix(cohorts.real, columns)
    real_joint = joint_shares(levels.of(cohorts.real), levels.sizes)

    def against_real(cohort: Cohort) -> tuple[list[Measurement], np.ndarray]:
        corr = correlation_matrix(cohort, columns)
        joint = joint_shares(levels.of(cohort), levels.sizes)
        out = [Measurement("correlation similarity", "", correlation_similarity(real_corr, corr, columns)),
               Measurement("contingency similarity", "", contingency_similarity(real_joint, joint))]
        for v, name in enumerate(cohorts.layout.names):
            out += [Measurement("variable correlation similarity", name,
                                correlation_similarity(real_corr, corr, columns, v)),
                    Measurement("variable contingency similarity", name, contingency_similarity(real_joint, joint, v))]
        return out, corr

    synthetic, synthetic_corr = against_real(cohorts.synthetic)
    reference = None if cohorts.holdout is None else against_real(cohorts.holdout)[0]
    details = {"correlation": {"columns": columns.names, "real": real_corr, "synthetic": synthetic_corr}}
    return FamilyResult(SPECS, pair_measurements(synthetic, reference), details)
