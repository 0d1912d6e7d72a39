"""Temporal structure: does each synthetic patient move through time like a real one?

All of these are computed per patient (within a patient's own steps) and then pooled:

- lag-k autocorrelation (numeric, time-varying variables): per patient the series minus its own
  mean; r_k = Σ d_t·d_(t+k) / Σ d_t² with both sums pooled over patients (so a patient with a flat
  series adds nothing rather than an undefined ratio). Score: |r_k real − r_k synthetic|.
- lag-1 change similarity (numeric): KS complement of the step-to-step differences x_t − x_(t−1).
- held-value share difference (numeric, time-varying): h = the share of consecutive step pairs of a
  patient (both observed) whose value equals the previous step's exactly, after rounding to the
  real column's decimals (``doses``); score |h_real − h_syn|. A dose held until changed has h near
  1; a generator adding a little noise to every step has h = 0, which no autocorrelation shows.
- lag-1 switch-rate similarity (labels, time-varying): the share s of consecutive step pairs whose
  label changes; score min(s_real, s_syn) / max(s_real, s_syn) (1 when both never change).
- trend / cycle correlation similarity (as in Health Gym; numeric, time-varying, at least two):
  per patient, trend = least-squares line over the steps, cycle = series − trend; for each pair of
  variables the per-patient Pearson correlation of their trends (and of their cycles), averaged
  over patients with Fisher z weighted by n − 3 (|r| clipped at 0.999 first: two lines always
  correlate ±1); score 1 − mean |r̄_real − r̄_syn| / 2 over pairs.
- sequence-length similarity: KS complement of the rows-per-patient distribution (only when some
  table's lengths vary; otherwise a note says all patients have the same length).
- static constancy: for each variable marked static, the share of patients whose observed values
  are all one value (must be 1).
"""

from __future__ import annotations

import numpy as np

from hgym_core.evaluation._stats import fisher_mean, ks_complement, sorted_finite
from hgym_core.evaluation._tables import Cohort, Cohorts
from hgym_core.evaluation.doses import column_decimals, held_share
from hgym_core.evaluation.progress import Progress, no_progress
from hgym_core.evaluation.report import FamilyResult, Measurement, ScoreSpec, pair_measurements
from hgym_core.evaluation.settings import EvaluationSettings

GROUP = "temporal"
FIXED_SPECS = {s.name: s for s in (
    ScoreSpec(GROUP, "lag-1 change similarity", "higher", 1.0, 0.05, 0.15,
              "1 − two-sample KS statistic of the per-patient step-to-step differences x_t − x_(t−1)"),
    ScoreSpec(GROUP, "held-value share difference", "lower", 0.0, 0.05, 0.15,
              "|h_real − h_syn|, h = share of consecutive within-patient row pairs (both observed) whose value "
              "equals the previous row's, compared after rounding to the real column's decimals (the fewest, "
              "up to 6, that 99% of its values have), so 3.0 and 2.9999999 are equal"),
    ScoreSpec(GROUP, "lag-1 switch-rate similarity", "higher", 1.0, 0.1, 0.25,
              "min/max of the real and synthetic shares of consecutive steps whose label changes"),
    ScoreSpec(GROUP, "trend correlation similarity", "higher", 1.0, 0.025, 0.05,
              "1 − mean |r̄_real − r̄_syn| / 2 over variable pairs; r̄ = Fisher-z mean (weights n − 3) of "
              "per-patient Pearson correlations of the linear trends (Health Gym)"),
    ScoreSpec(GROUP, "cycle correlation similarity", "higher", 1.0, 0.025, 0.05,
              "1 − mean |r̄_real − r̄_syn| / 2 over variable pairs; r̄ = Fisher-z mean (weights n − 3) of "
              "per-patient Pearson correlations of the linearly detrended series (Health Gym)"),
    ScoreSpec(GROUP, "sequence-length similarity", "higher", 1.0, 0.05, 0.15,
              "1 − two-sample KS statistic of the number of steps per patient"),
    ScoreSpec(GROUP, "static constancy", "higher", 1.0, 0.01, 0.05,
              "share of patients whose values of a static variable are all the same"),
)}


def autocorrelation_spec(lag: int) -> ScoreSpec:
    return ScoreSpec(GROUP, f"lag-{lag} autocorrelation difference", "lower", 0.0, 0.05, 0.15,
                     f"|r_{lag} real − r_{lag} synthetic|, r_{lag} = lag-{lag} autocorrelation of the series "
                     "minus each patient's mean, sums pooled over patients")


def autocorrelation(x: np.ndarray, lag: int) -> float:
    """Pooled within-patient lag-k autocorrelation of x [N, T] (NaN = missing or no step)."""
    if lag >= x.shape[1]:
        return float("nan")
    observed = ~np.isnan(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(observed, x, 0.0).sum(axis=1) / observed.sum(axis=1)
    d = np.where(observed, x - means[:, None], 0.0)     # 0 where missing: such pairs add nothing
    denominator = (d * d).sum()
    if denominator <= 0:
        return float("nan")
    return float((d[:, :-lag] * d[:, lag:]).sum() / denominator)


def lag1_changes(x: np.ndarray) -> np.ndarray:
    return sorted_finite(x[:, 1:] - x[:, :-1])


def switch_rate(codes: np.ndarray) -> float:
    before, after = codes[:, :-1], codes[:, 1:]
    pairs = ~np.isnan(before) & ~np.isnan(after)
    return float((before != after)[pairs].mean()) if pairs.any() else float("nan")


def rate_similarity(a: float, b: float) -> float:
    if not (np.isfinite(a) and np.isfinite(b)):
        return float("nan")
    return 1.0 if max(a, b) == 0 else float(min(a, b) / max(a, b))


def trend_and_cycle(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per patient: least-squares line over its observed steps (trend) and the residual (cycle)."""
    observed = ~np.isnan(x)
    t = np.broadcast_to(np.arange(x.shape[1], dtype=float), x.shape)
    xz, tz = np.where(observed, x, 0.0), np.where(observed, t, 0.0)
    n = observed.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (n * (tz * xz).sum(1) - tz.sum(1) * xz.sum(1)) / (n * (tz * tz).sum(1) - tz.sum(1) ** 2)
        intercept = (xz.sum(1) - slope * tz.sum(1)) / n
    trend = np.where(observed, intercept[:, None] + slope[:, None] * t, np.nan)
    return trend, x - trend


def rowwise_pearson(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: Pearson correlation of a and b over the columns where both are present, and that count."""
    both = ~np.isnan(a) & ~np.isnan(b)
    n = both.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ma = np.where(both, a, 0.0).sum(1) / n
        mb = np.where(both, b, 0.0).sum(1) / n
        da = np.where(both, a - ma[:, None], 0.0)
        db = np.where(both, b - mb[:, None], 0.0)
        r = (da * db).sum(1) / np.sqrt((da * da).sum(1) * (db * db).sum(1))
    return r, n


def component_correlations(cohort: Cohort, variables: list[int]) -> dict[str, np.ndarray]:
    """Fisher-z mean per-patient correlation matrices of the trends and of the cycles."""
    parts = [trend_and_cycle(cohort.values[:, :, v]) for v in variables]
    out = {}
    for c, component in enumerate(("trend", "cycle")):
        matrix = np.eye(len(variables))
        for i in range(len(variables)):
            for j in range(i + 1, len(variables)):
                r, n = rowwise_pearson(parts[i][c], parts[j][c])
                matrix[i, j] = matrix[j, i] = fisher_mean(r, n)
        out[component] = matrix
    return out


def matrix_similarity(real: np.ndarray, other: np.ndarray) -> float:
    upper = np.triu_indices(len(real), k=1)
    diffs = np.abs(real[upper] - other[upper])
    return float(1.0 - np.nanmean(diffs) / 2.0) if np.isfinite(diffs).any() else float("nan")


def static_constancy(cohort: Cohort, v: int) -> float:
    x = cohort.values[:, :, v]
    observed = ~np.isnan(x)
    high = np.where(observed, x, -np.inf).max(axis=1)
    low = np.where(observed, x, np.inf).min(axis=1)
    constant = (high == low) | ~observed.any(axis=1)
    return float(constant.mean())


class _Profile:
    """The per-table temporal statistics, computed once per table."""

    def __init__(self, cohort: Cohort, lags: tuple[int, ...], numeric: list[int], labels: list[int],
                 static: list[int], decimals: dict[int, int]):
        self.held = {v: held_share(cohort.values[:, :, v], decimals[v]) for v in numeric}
        self.autocorrelation = {(v, k): autocorrelation(cohort.values[:, :, v], k) for v in numeric for k in lags}
        self.changes = {v: lag1_changes(cohort.values[:, :, v]) for v in numeric}
        self.switches = {v: switch_rate(cohort.values[:, :, v]) for v in labels}
        self.components = component_correlations(cohort, numeric) if len(numeric) >= 2 else None
        self.lengths = np.sort(cohort.lengths.astype(float))
        self.constancy = {v: static_constancy(cohort, v) for v in static}


def measure(cohorts: Cohorts, settings: EvaluationSettings, rng: np.random.Generator,
            max_patients: int | None = None, progress: Progress = no_progress) -> FamilyResult:
    columns = cohorts.layout.columns
    numeric = [v for v, c in enumerate(columns) if c.numeric and not c.static]
    labels = [v for v, c in enumerate(columns) if not c.numeric and not c.static]
    static = [v for v, c in enumerate(columns) if c.static]
    lags = tuple(k for k in settings.lags if k < cohorts.layout.n_steps)
    notes = []
    if len(lags) < len(settings.lags):
        notes.append(f"Autocorrelation lags {sorted(set(settings.lags) - set(lags))} skipped: patients have at most "
                     f"{cohorts.layout.n_steps} steps.")

    real_rows = cohorts.real.rows()
    decimals = {v: column_decimals(real_rows[:, v]) for v in numeric}

    def profile(cohort: Cohort) -> _Profile:
        return _Profile(cohort, lags, numeric, labels, static, decimals)

    real = profile(cohorts.real)
    varying_lengths = any(len(np.unique(c.lengths)) > 1 or c.lengths[0] != cohorts.real.lengths[0]
                          for c in (cohorts.real, cohorts.synthetic, cohorts.holdout) if c is not None)
    if not varying_lengths:
        notes.append(f"Sequence-length similarity not scored: every patient in every table has "
                     f"{cohorts.real.lengths[0]} steps.")

    def against_real(other: _Profile) -> list[Measurement]:
        out = []
        for v in numeric:
            for k in lags:
                out.append(Measurement(f"lag-{k} autocorrelation difference", columns[v].name,
                                       abs(real.autocorrelation[v, k] - other.autocorrelation[v, k])))
            out.append(Measurement("lag-1 change similarity", columns[v].name,
                                   ks_complement(real.changes[v], other.changes[v])))
            out.append(Measurement("held-value share difference", columns[v].name, abs(real.held[v] - other.held[v])))
        for v in labels:
            out.append(Measurement("lag-1 switch-rate similarity", columns[v].name,
                                   rate_similarity(real.switches[v], other.switches[v])))
        if real.components is not None:
            for component in ("trend", "cycle"):
                out.append(Measurement(f"{component} correlation similarity", "",
                                       matrix_similarity(real.components[component], other.components[component])))
        if varying_lengths:
            out.append(Measurement("sequence-length similarity", "", ks_complement(real.lengths, other.lengths)))
        for v in static:
            out.append(Measurement("static constancy", columns[v].name, other.constancy[v]))
        return out

    synthetic_profile = profile(cohorts.synthetic)
    synthetic = against_real(synthetic_profile)
    holdout_profile = None if cohorts.holdout is None else profile(cohorts.holdout)
    reference = None if holdout_profile is None else against_real(holdout_profile)
    specs = {**FIXED_SPECS, **{autocorrelation_spec(k).name: autocorrelation_spec(k) for k in lags}}
    return FamilyResult(specs, pair_measurements(synthetic, reference),
                        _details(real, synthetic_profile, holdout_profile, columns, numeric, lags), notes)


def _details(real: _Profile, synthetic: _Profile, holdout: _Profile | None, columns, numeric: list[int],
             lags: tuple[int, ...]) -> dict:
    details = {"autocorrelation": {
        columns[v].name: {"lags": list(lags),
                          "real": [real.autocorrelation[v, k] for k in lags],
                          "synthetic": [synthetic.autocorrelation[v, k] for k in lags]} for v in numeric},
        "held_values": {columns[v].name: {"real": real.held[v], "synthetic": synthetic.held[v],
                                          "holdout": None if holdout is None else holdout.held[v]}
                        for v in numeric}}
    if real.components is not None:
        details["trend_cycle"] = {"variables": [columns[v].name for v in numeric],
                                  **{f"{who}_{component}": profile.components[component]
                                     for who, profile in (("real", real), ("synthetic", synthetic))
                                     for component in ("trend", "cycle")}}
    return details
