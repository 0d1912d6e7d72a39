"""Relationships between variables at the same step: correlations and contingency tables.

Correlation similarity: Pearson matrix over all patient-steps of the numeric variables, each
two-label variable as its 0/1 code and each many-label variable one-hot (one column per label);
pairs of columns from the same variable are left out (one-hot columns exclude each other by
construction). score = 1 − mean |ρ_real − ρ_syn| / 2 over the remaining pairs. A column without
spread correlates 0 with everything (``pearson_matrix``); but when a variable has one value in
every row of one table and varies in the other (a generator that collapsed Gender to "Male"),
its correlations are undefined on one side, and scoring them as "no association" would pass a
collapse whose real correlations are near 0 anyway (3 collapsed HIV variables still scored
0.97). So each pair involving such a variable counts as |Δρ| = 1, as far apart as a perfect
and no correlation, and the report's notes name the variable.

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

from hgym_core.evaluation._stats import no_spread, pearson_matrix, tv_complement
from hgym_core.evaluation._tables import Cohort, Cohorts, Layout
from hgym_core.evaluation.progress import Progress, no_progress
from hgym_core.evaluation.report import FamilyResult, Measurement, ScoreSpec, pair_measurements
from hgym_core.evaluation.settings import EvaluationSettings

GROUP = "relationships"
N_BINS = 10
SPECS = {s.name: s for s in (
    ScoreSpec(GROUP, "correlation similarity", "higher", 1.0, 0.025, 0.05,
              "1 − mean |ρ_real − ρ_syn| / 2 over pairs of Pearson correlations of all patient-steps "
              "(labels as 0/1 or one-hot columns); a pair with a variable that has one value in every row "
              "of one table but varies in the other counts as |ρ_real − ρ_syn| = 1"),
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


@dataclass(frozen=True)
class Correlations:
    """One table's Pearson matrix over the correlation columns, and which variables have no spread."""

    matrix: np.ndarray        # [C, C]; a column without spread correlates 0 with everything
    flat: np.ndarray          # bool [V]: the variable has one value in every row where it is observed


def correlations(cohort: Cohort, columns: CorrelationColumns) -> Correlations:
    return Correlations(correlation_matrix(cohort, columns), no_spread(cohort.rows()))


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


def lost_variables(real: Correlations, other: Correlations) -> np.ndarray:
    """bool [V]: variables without spread in exactly one of the two tables (their correlations are lost)."""
    return real.flat != other.flat


def correlation_similarity(real: Correlations, other: Correlations, columns: CorrelationColumns,
                           variable: int | None = None) -> float:
    """1 − mean |Δρ| / 2 over column pairs of different variables (only those involving ``variable`` if given);
    |Δρ| = 1 for a pair with a variable that has no spread in one table only (module docstring)."""
    owner = columns.owner
    pairs = np.triu(np.ones_like(real.matrix, dtype=bool), k=1) & (owner[:, None] != owner[None, :])
    if variable is not None:
        pairs &= (owner[:, None] == variable) | (owner[None, :] == variable)
    if not pairs.any():
        return float("nan")
    differences = np.abs(real.matrix - other.matrix)
    lost = lost_variables(real, other)[owner]
    differences[lost[:, None] | lost[None, :]] = 1.0
    return float(1.0 - differences[pairs].mean() / 2.0)


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
    real_corr = correlations(cohorts.real, columns)
    real_joint = joint_shares(levels.of(cohorts.real), levels.sizes)

    def against_real(cohort: Cohort) -> tuple[list[Measurement], Correlations]:
        corr = correlations(cohort, columns)
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
    lost = [cohorts.layout.names[v] for v in np.flatnonzero(lost_variables(real_corr, synthetic_corr))]
    details = {"correlation": {"columns": columns.names, "real": real_corr.matrix,
                               "synthetic": synthetic_corr.matrix, "lost": lost}}
    return FamilyResult(SPECS, pair_measurements(synthetic, reference), details, _lost_notes(lost, synthetic_corr,
                                                                                             cohorts.layout))


def _lost_notes(lost: list[str], synthetic: Correlations, layout: Layout) -> list[str]:
    if not lost:
        return []
    collapsed = [name for name in lost if synthetic.flat[layout.names.index(name)]]
    spread = [name for name in lost if name not in collapsed]
    parts = ([f"{', '.join(collapsed)} {'has' if len(collapsed) == 1 else 'have'} one value in every synthetic "
              "row but vary in the real data"] if collapsed else []) + \
            ([f"{', '.join(spread)} {'varies' if len(spread) == 1 else 'vary'} in the synthetic data but not in "
              "the real data"] if spread else [])
    return [f"Correlation similarity: {'; '.join(parts)}. Their correlations cannot be compared, so every pair "
            "involving them counts as |ρ_real − ρ_syn| = 1."]
