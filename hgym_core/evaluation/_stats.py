"""Small statistical building blocks shared by the score families (NumPy only, vectorised)."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

# Fisher z is infinite at |r| = 1 (a linear trend correlates perfectly with another); clip first.
R_CLIP = 0.999


def ks_complement(a_sorted: np.ndarray, b_sorted: np.ndarray) -> float:
    """1 - the two-sample Kolmogorov-Smirnov statistic of two sorted, NaN-free samples (NaN if one is empty)."""
    if len(a_sorted) == 0 or len(b_sorted) == 0:
        return float("nan")
    points = np.concatenate([a_sorted, b_sorted])
    cdf_a = np.searchsorted(a_sorted, points, side="right") / len(a_sorted)
    cdf_b = np.searchsorted(b_sorted, points, side="right") / len(b_sorted)
    return float(1.0 - np.max(np.abs(cdf_a - cdf_b)))


def tv_complement(p: np.ndarray, q: np.ndarray) -> float:
    """1 - total variation distance between two distributions over the same cells (NaN if one is empty)."""
    if not (np.isfinite(p).all() and np.isfinite(q).all()):
        return float("nan")
    return float(1.0 - 0.5 * np.abs(p - q).sum())


def shares(codes: np.ndarray, n_levels: int) -> np.ndarray:
    """Share of each level 0..n_levels-1 among the non-NaN codes (NaN-filled when there are none)."""
    observed = codes[~np.isnan(codes)].astype(np.int64)
    if len(observed) == 0:
        return np.full(n_levels, np.nan)
    return np.bincount(observed, minlength=n_levels) / len(observed)


def sorted_finite(values: np.ndarray) -> np.ndarray:
    return np.sort(values[np.isfinite(values)])


def roc_auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Area under the ROC curve for scores where higher means "positive" (Mann-Whitney U, ties count half)."""
    if len(positive) == 0 or len(negative) == 0:
        return float("nan")
    ranks = rankdata(np.concatenate([positive, negative]))
    n_pos, n_neg = len(positive), len(negative)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def pearson_matrix(x: np.ndarray) -> np.ndarray:
    """Pearson correlations between the columns of x [R, F], each pair over the rows where both are present.

    A column with no spread (in those rows) correlates 0 with everything: no linear association,
    and a generator that collapses a column to one value is then scored on that, not skipped.
    """
    present = ~np.isnan(x)
    if present.all():          # no missing values (the usual case): one product
        means = x.mean(axis=0)
        centred = x - means    # centring first keeps the sums of squares small (VL reaches 1e5)
        cov = centred.T @ centred
        n = np.full_like(cov, len(x))
        return _finish(cov, np.diag(cov)[:, None] * np.ones_like(cov), n, means)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.nan_to_num(np.where(present, x, 0.0).sum(axis=0) / present.sum(axis=0))
    return _pearson_from_sums(np.where(present, x - means, 0.0), present.astype(float), means)


def _pearson_from_sums(x: np.ndarray, mask: np.ndarray, means: np.ndarray) -> np.ndarray:
    n = mask.T @ mask
    sum_x = x.T @ mask                    # [i, j]: sum of column i over rows where j is present
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = x.T @ x - sum_x * sum_x.T / n
        var = (x * x).T @ mask - sum_x ** 2 / n   # [i, j]: variance of column i over the pair's rows
    return _finish(cov, var, n, means)


def _finish(cov: np.ndarray, var: np.ndarray, n: np.ndarray, means: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.sqrt(var * var.T)
    flat = _flat(var, n, np.abs(means)[:, None])
    r[~np.isfinite(r) | (n < 2) | flat | flat.T] = 0.0
    np.fill_diagonal(r, 1.0)
    return np.clip(r, -1.0, 1.0)


def no_spread(x: np.ndarray) -> np.ndarray:
    """bool [F]: the columns of x [R, F] whose observed values are all one value (or fewer than two)."""
    present = ~np.isnan(x)
    n = present.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(present, x, 0.0).sum(axis=0) / n
        squares = (np.where(present, x - means, 0.0) ** 2).sum(axis=0)
    return (n < 2) | _flat(squares, n, np.abs(np.nan_to_num(means)))


def _flat(sum_of_squares: np.ndarray, n: np.ndarray, size: np.ndarray) -> np.ndarray:
    """A spread within rounding noise of the column's size counts as none (a constant column)."""
    return sum_of_squares <= n * (1e-9 * size) ** 2


def fisher_mean(r: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Average correlations r [P, ...] over axis 0 with Fisher z, weighting each by n - 3 (n = paired values).

    Entries with n <= 3 or r NaN carry no weight; NaN where nothing carries weight.
    """
    weight = np.where(np.isfinite(r) & (n > 3), n - 3.0, 0.0)
    z = np.arctanh(np.clip(np.nan_to_num(r), -R_CLIP, R_CLIP))
    total = weight.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.tanh((weight * z).sum(axis=0) / total)
