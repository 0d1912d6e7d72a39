"""Marginals: is each variable, pooled over all patient-steps, distributed as in the real data?

Per variable: KS complement (numeric) or TV complement (labels), missing-rate similarity and
range adherence; "column shapes" is the mean of the KS / TV complements.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hgym_core.evaluation._stats import ks_complement, shares, sorted_finite, tv_complement
from hgym_core.evaluation._tables import Cohort, Cohorts, Layout
from hgym_core.evaluation.progress import Progress, no_progress
from hgym_core.evaluation.report import FamilyResult, Measurement, ScoreSpec, pair_measurements
from hgym_core.evaluation.settings import EvaluationSettings

GROUP = "marginals"
SPECS = {s.name: s for s in (
    ScoreSpec(GROUP, "KS complement", "higher", 1.0, 0.05, 0.15,
              "1 − two-sample Kolmogorov–Smirnov statistic D = sup|F_real(x) − F_syn(x)| over all "
              "patient-steps, missing values dropped"),
    ScoreSpec(GROUP, "TV complement", "higher", 1.0, 0.05, 0.15,
              "1 − total variation distance ½ Σ_c |p_real(c) − p_syn(c)| of the category shares over "
              "all patient-steps, missing values dropped"),
    ScoreSpec(GROUP, "missing-rate similarity", "higher", 1.0, 0.02, 0.05,
              "1 − |share of missing values real − share synthetic| over all patient-steps"),
    ScoreSpec(GROUP, "range adherence", "higher", 1.0, 0.01, 0.05,
              "numeric: share of synthetic values inside the real [min, max]; labels: share of "
              "synthetic values whose label occurs in the real data"),
    ScoreSpec(GROUP, "column shapes", "higher", 1.0, 0.05, 0.15,
              "mean of the per-variable KS / TV complements"),
)}


@dataclass
class Profile:
    """Per variable: sorted values (numeric) or category shares (labels), and the missing share."""

    sorted_values: dict[int, np.ndarray]
    shares: dict[int, np.ndarray]
    missing: np.ndarray


def profile(cohort: Cohort) -> Profile:
    rows = cohort.rows()
    sorted_values, category_shares = {}, {}
    for v, column in enumerate(cohort.layout.columns):
        if column.numeric:
            sorted_values[v] = sorted_finite(rows[:, v])
        else:
            category_shares[v] = shares(rows[:, v], len(column.labels))
    missing = np.isnan(rows).mean(axis=0) if len(rows) else np.full(rows.shape[1], np.nan)
    return Profile(sorted_values, category_shares, missing)


def compare(real: Profile, other: Profile, layout: Layout) -> list[Measurement]:
    """Measurements of ``other`` against ``real``."""
    out = []
    shape_values = []
    for v, column in enumerate(layout.columns):
        if column.numeric:
            shape = ks_complement(real.sorted_values[v], other.sorted_values[v])
            out.append(Measurement("KS complement", column.name, shape))
            out.append(Measurement("range adherence", column.name,
                                   _inside_share(real.sorted_values[v], other.sorted_values[v])))
        else:
            shape = tv_complement(real.shares[v], other.shares[v])
            out.append(Measurement("TV complement", column.name, shape))
            seen = real.shares[v] > 0
            out.append(Measurement("range adherence", column.name, float(other.shares[v][seen].sum())))
        out.append(Measurement("missing-rate similarity", column.name,
                               float(1.0 - abs(real.missing[v] - other.missing[v]))))
        shape_values.append(shape)
    finite = [value for value in shape_values if np.isfinite(value)]
    out.append(Measurement("column shapes", "", float(np.mean(finite)) if finite else float("nan")))
    return out


def measure(cohorts: Cohorts, settings: EvaluationSettings, rng: np.random.Generator,
            max_patients: int | None = None, progress: Progress = no_progress) -> FamilyResult:
    real = profile(cohorts.real)
    synthetic = compare(real, profile(cohorts.synthetic), cohorts.layout)
    reference = None if cohorts.holdout is None else compare(real, profile(cohorts.holdout), cohorts.layout)
    return FamilyResult(SPECS, pair_measurements(synthetic, reference))


def _inside_share(real_sorted: np.ndarray, other_sorted: np.ndarray) -> float:
    if len(real_sorted) == 0 or len(other_sorted) == 0:
        return float("nan")
    low = np.searchsorted(other_sorted, real_sorted[0], side="left")
    high = np.searchsorted(other_sorted, real_sorted[-1], side="right")
    return float((high - low) / len(other_sorted))
