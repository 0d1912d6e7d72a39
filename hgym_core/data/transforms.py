"""Numeric column transforms to [0, 1] and back: Box-Cox + min-max (Health Gym), log + min-max, min-max.

Health Gym v1 maps each numeric column x to Box-Cox(x + 1e-3) with λ fitted by maximum
likelihood, then min-max to [0, 1]; the generator's sigmoid outputs live in that range.
Columns with values at or below zero still work: a stored ``shift`` moves them above zero first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import optimize

EPS = 1e-3   # Health Gym's offset inside the Box-Cox (and log) transform
LAMBDA_BOUNDS = (-10.0, 10.0)
# Decoding solves x^λ = 1 + λ·z, so where x^λ is tiny (λ < 0 and a large x, or λ > 0 and a
# small one) it is a difference near float64's resolution: at x^λ = 1e-16 the column's largest
# value came back as 70% of itself. λ is kept where every fitted value has x^λ >= 1e-7.
MIN_POWER_LOG = np.log(1e-7)


def boxcox_lambda(x: np.ndarray) -> float:
    """Box-Cox λ by maximum likelihood, as ``scipy.stats.boxcox`` finds it, but fast on big columns.

    scipy spends ~3 s on 535k values; the same log-likelihood evaluated on precomputed logs
    with a bounded scalar search takes ~0.1 s and agrees to ~1e-6. The search stays where the
    transform can be inverted (``MIN_POWER_LOG``); a few values can put the likelihood's
    maximum outside (four values from 717 to 1,470 give λ ≈ -5), and then λ is that edge.
    """
    logs = np.log(np.asarray(x, dtype=np.float64))
    if np.ptp(logs) == 0:
        return 1.0   # constant column: any λ fits; 1 keeps it a plain shift
    total_log = logs.sum()
    low, high = logs.min(), logs.max()
    bounds = (max(LAMBDA_BOUNDS[0], MIN_POWER_LOG / high) if high > 0 else LAMBDA_BOUNDS[0],
              min(LAMBDA_BOUNDS[1], MIN_POWER_LOG / low) if low < 0 else LAMBDA_BOUNDS[1])

    def negative_llf(lmbda: float) -> float:
        # log var((x^λ - 1)/λ) without overflow: factor out exp(λ·c) with c the log that
        # would overflow first, and use expm1 so small λ keeps its precision.
        if abs(lmbda) < 1e-12:
            log_var = np.log(logs.var())
        else:
            anchor = high if lmbda > 0 else low
            log_var = 2 * lmbda * anchor + np.log(np.expm1(lmbda * (logs - anchor)).var()) - 2 * np.log(abs(lmbda))
        return -((lmbda - 1) * total_log - 0.5 * len(logs) * log_var)

    result = optimize.minimize_scalar(negative_llf, bounds=bounds, method="bounded",
                                      options={"xatol": 1e-8})
    return float(result.x)


@dataclass
class NumericTransform:
    """x -> [0, 1] and back. ``z`` is the column after the non-linear step, before min-max."""

    kind: str = "boxcox"        # "boxcox" | "log" | "minmax"
    shift: float = 0.0          # added first so that x + shift + eps > 0 under boxcox/log
    eps: float = EPS
    lmbda: float = 1.0          # Box-Cox λ (unused for log/minmax)
    low: float = 0.0            # min of z
    span: float = 1.0           # max - min of z (0 for a constant column: it decodes to its value)

    @classmethod
    def fit(cls, x: np.ndarray, kind: str = "boxcox") -> "NumericTransform":
        """Fit on the observed (finite, non-missing) values of one column."""
        x = np.asarray(x, dtype=np.float64)
        transform = cls(kind=kind)
        if kind in ("boxcox", "log"):
            # Shift only what is needed: values from -eps upwards are already positive after + eps.
            transform.shift = float(max(0.0, -x.min())) if len(x) else 0.0
            if kind == "boxcox" and len(x):
                transform.lmbda = boxcox_lambda(x + transform.shift + transform.eps)
        if len(x):
            z = transform._forward_z(x)
            transform.low = float(z.min())
            transform.span = float(z.max() - z.min())
        return transform

    def _forward_z(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "minmax":
            return x
        positive = x + self.shift + self.eps
        if self.kind == "log" or self.lmbda == 0:
            return np.log(positive)
        return np.expm1(self.lmbda * np.log(positive)) / self.lmbda

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Values to [0, 1] (float64); the fitted column's min and max map to exactly 0 and 1."""
        return (self._forward_z(np.asarray(x, dtype=np.float64)) - self.low) / (self.span or 1.0)

    def inverse(self, y: np.ndarray) -> np.ndarray:
        """[0, 1] (clipped first, so raw sigmoid outputs are fine) back to the column's values; a
        constant column (span 0) gives its value whatever the code."""
        z = np.clip(np.asarray(y, dtype=np.float64), 0.0, 1.0) * self.span + self.low
        if self.kind == "minmax":
            return z
        if self.kind == "log" or self.lmbda == 0:
            positive = np.exp(z)
        else:
            # λ·z + 1 = x^λ > 0 for every fitted value; the floor only guards rounding at the edge.
            positive = np.exp(np.log1p(np.maximum(self.lmbda * z, -1 + 1e-15)) / self.lmbda)
        return positive - self.eps - self.shift

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "NumericTransform":
        return cls(**data)
