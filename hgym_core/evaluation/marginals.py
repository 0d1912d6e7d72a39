"""Marginals: is each variable, pooled over all patient-steps, distributed as in the real data?

Per variable: KS complement (numeric) or TV complement (labels), missing-rate similarity and
range adherence; "column shapes" is the mean of the KS / TV complements.

Point masses (numeric, see ``doses``): for each exact value that holds at least 5% of the real
variable's observed rows (at most 5; 0 first), the share of rows at exactly that value, real vs
synthetic; "point-mass share difference" = the largest |share_real − share_syn| over those values.
A KS statistic sees a 71% vs 21% spike at 0 only as one step among all the others; this names it.
Variables without point values get no such score, nor do static ones: their rows repeat each
patient's one value, so a common age is no point mass (as ``Schema.infer`` lists none for them). The notes list variables that collapsed to
(nearly) one value in the synthetic data (``collapse``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hgym_core.evaluation._stats import ks_complement, shares, sorted_finite, tv_complement
from hgym_core.evaluation._tables import Cohort, Cohorts, Layout
from hgym_core.evaluation.collapse import collapse_note, collapsed
from hgym_core.evaluation.doses import PointMasses, point_masses
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
    ScoreSpec(GROUP, "point-mass share difference", "lower", 0.0, 0.05, 0.15,
              "max over the real data's point values (exact values holding ≥ 5% of its observed rows, at most "
              "5, 0 first) of |share of rows at that value real − synthetic|; values compared after rounding "
              "to the real column's decimals (the fewest, up to 6, that 99% of its values have), so 3.0 and "
              "2.9999999 are equal"),
)}


@dataclass
class Profile:
    """Per variable: sorted values (numeric) or category shares (labels), the missing share, and the
    share of rows at each of the real data's point values (numeric variables that have some)."""

    sorted_values: dict[int, np.ndarray]
    shares: dict[int, np.ndarray]
    missing: np.ndarray
    point_shares: dict[int, np.ndarray]


def real_point_masses(real: Cohort) -> dict[int, PointMasses]:
    """The real data's point values of each numeric variable that has any (static ones have none)."""
    rows = real.rows()
    found = {v: point_masses(rows[:, v]) for v, column in enumerate(real.layout.columns)
             if column.numeric and not column.static}
    return {v: masses for v, masses in found.items() if masses.values}


def profile(cohort: Cohort, masses: dict[int, PointMasses]) -> Profile:
    rows = cohort.rows()
    sorted_values, category_shares = {}, {}
    for v, column in enumerate(cohort.layout.columns):
        if column.numeric:
            sorted_values[v] = sorted_finite(rows[:, v])
        else:
            category_shares[v] = shares(rows[:, v], len(column.labels))
    missing = np.isnan(rows).mean(axis=0) if len(rows) else np.full(rows.shape[1], np.nan)
    return Profile(sorted_values, category_shares, missing, {v: m.shares_in(rows[:, v]) for v, m in masses.items()})


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
            if v in real.point_shares:
                out.append(Measurement("point-mass share difference", column.name,
                                       float(np.max(np.abs(real.point_shares[v] - other.point_shares[v])))))
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
    masses = real_point_masses(cohorts.real)
    real = profile(cohorts.real, masses)
    synthetic_profile = profile(cohorts.synthetic, masses)
    synthetic = compare(real, synthetic_profile, cohorts.layout)
    holdout_profile = None if cohorts.holdout is None else profile(cohorts.holdout, masses)
    reference = None if holdout_profile is None else compare(real, holdout_profile, cohorts.layout)
    details = {"point_masses": {
        cohorts.layout.columns[v].name: {
            "decimals": m.decimals, "values": list(m.values), "real": list(m.shares),
            "synthetic": synthetic_profile.point_shares[v].tolist(),
            "holdout": None if holdout_profile is None else holdout_profile.point_shares[v].tolist()}
        for v, m in masses.items()}}
    notes = collapse_note(collapsed(cohorts.real, cohorts.synthetic))
    return FamilyResult(SPECS, pair_measurements(synthetic, reference), details, notes)


def _inside_share(real_sorted: np.ndarray, other_sorted: np.ndarray) -> float:
    if len(real_sorted) == 0 or len(other_sorted) == 0:
        return float("nan")
    low = np.searchsorted(other_sorted, real_sorted[0], side="left")
    high = np.searchsorted(other_sorted, real_sorted[-1], side="right")
    return float((high - low) / len(other_sorted))
