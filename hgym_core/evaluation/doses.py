"""Dose shapes of numeric columns: point masses and values held from row to row, from the data alone.

A dose column (a drug's rate, a ventilator setting) is numeric, yet most of its rows sit at one
exact value — 0 above all, "not given" — and a value once set is often held until changed. A
histogram and a KS statistic blur both; these measures name them.

- Decimals: the real column's decimals d are the fewest in 0..6 such that at least 99% of its
  observed values equal themselves rounded to d decimals (up to a millionth of the last decimal,
  float noise). Every table's values are rounded to the real column's d before any equality, so
  3.0 and 2.9999999 (a float round trip) count as the same value.
- Point values: the exact (rounded) values that hold at least 5% of the real column's observed
  rows, at most 5, largest share first and 0 first of all when it is one.
- Held-value share: among consecutive rows of one patient where both values are observed, the
  share whose (rounded) value equals the previous row's.
- Dose-like: a column with a point value at 0, or one holding at least 30% of the rows. Its "off"
  value is 0 if that is a point value, else the largest point mass; a row is "on" otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

MAX_DECIMALS = 6
DECIMALS_SHARE = 0.99          # of observed values that must have at most d decimals
POINT_SHARE = 0.05             # a value holding this share of the observed rows is a point value
MAX_POINTS = 5
DOSE_SHARE = 0.30              # a point mass this large makes a column dose-like (as 0 does)


def column_decimals(values: np.ndarray) -> int:
    """The fewest decimals d in 0..6 that at least 99% of the observed values have (6 when none)."""
    observed = values[np.isfinite(values)]
    if len(observed) == 0:
        return 0
    for d in range(MAX_DECIMALS):
        noise = 1e-6 * 10.0 ** -d
        if np.mean(np.abs(observed - np.round(observed, d)) <= noise) >= DECIMALS_SHARE:
            return d
    return MAX_DECIMALS


@dataclass(frozen=True)
class PointMasses:
    """The real column's decimals and point values (with their real shares), to measure any table by."""

    decimals: int
    values: tuple[float, ...]
    shares: tuple[float, ...]

    def round(self, values: np.ndarray) -> np.ndarray:
        return np.round(values, self.decimals)

    def shares_in(self, values: np.ndarray) -> np.ndarray:
        """Share of the observed ``values`` at exactly each point value (NaN when none is observed)."""
        observed = self.round(values[np.isfinite(values)])
        if len(observed) == 0:
            return np.full(len(self.values), np.nan)
        return np.array([np.mean(observed == value) for value in self.values])

    @property
    def dose_like(self) -> bool:
        return 0.0 in self.values or any(share >= DOSE_SHARE for share in self.shares)

    @property
    def off_value(self) -> float:
        """The value that means "not on": 0 when it is a point value, else the largest point mass."""
        return 0.0 if 0.0 in self.values else self.values[0]


def point_masses(real_values: np.ndarray) -> PointMasses:
    """The point values of a real column (module docstring), largest share first, 0 first of all."""
    decimals = column_decimals(real_values)
    observed = np.round(real_values[np.isfinite(real_values)], decimals)
    if len(observed) == 0:
        return PointMasses(decimals, (), ())
    values, counts = np.unique(observed, return_counts=True)
    shares = counts / len(observed)
    order = [i for i in np.argsort(-shares, kind="stable") if shares[i] >= POINT_SHARE]
    order.sort(key=lambda i: values[i] != 0)          # stable: 0 first, the rest stay by share
    order = order[:MAX_POINTS]
    return PointMasses(decimals, tuple(float(values[i]) + 0.0 for i in order),   # + 0.0: -0.0 is 0
                       tuple(float(shares[i]) for i in order))


def held_share(x: np.ndarray, decimals: int) -> float:
    """Share of consecutive step pairs of x [N, T] (both observed) whose rounded value is unchanged."""
    rounded = np.round(x, decimals)
    before, after = rounded[:, :-1], rounded[:, 1:]
    pairs = np.isfinite(before) & np.isfinite(after)
    return float((before == after)[pairs].mean()) if pairs.any() else float("nan")


def on_share_by_step(values: np.ndarray, steps: np.ndarray, masses: PointMasses,
                     min_rows: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, share of the observed rows "on" at each step, rows observed there) for steps with at
    least ``min_rows`` observed rows; "on" is any value other than ``masses.off_value``."""
    keep = np.isfinite(values) & np.isfinite(steps)
    step_values, index = np.unique(steps[keep], return_inverse=True)
    on = masses.round(values[keep]) != masses.off_value
    counts = np.bincount(index, minlength=len(step_values))
    share = np.bincount(index, weights=on, minlength=len(step_values)) / np.maximum(counts, 1)
    enough = counts >= min_rows
    return step_values[enough], share[enough], counts[enough]


def dose_lines(details: Mapping, points: Mapping[str, list] | None = None) -> dict[str, list[str]]:
    """Per variable, the report's point-mass and held-value figures in words, from ``Report.details``:
    ["Rate = 0: real 71%, synthetic 21% (holdout 70%)", "Rate held from the previous row: ..."].
    ``points`` (a variable's point values, as its schema lists them) keeps only those values' lines."""
    lines: dict[str, list[str]] = {}
    for name, entry in (details.get("marginals", {}).get("point_masses") or {}).items():
        for i, value in enumerate(entry["values"]):
            if points is not None and not any(np.isclose(value, p) for p in points.get(name, ())):
                continue
            lines.setdefault(name, []).append(
                f"{name} = {value:g}: " + _shares_text({role: entry[role][i] if entry.get(role) else None
                                                        for role in ("real", "synthetic", "holdout")}))
    for name, entry in (details.get("temporal", {}).get("held_values") or {}).items():
        lines.setdefault(name, []).append(f"{name} held from the previous row: " + _shares_text(entry))
    return lines


def _shares_text(shares: Mapping) -> str:
    def percent(x) -> str:
        return "–" if x is None or not np.isfinite(x) else f"{x:.0%}"
    text = f"real {percent(shares.get('real'))}, synthetic {percent(shares.get('synthetic'))}"
    return text + (f" (holdout {percent(shares['holdout'])})" if shares.get("holdout") is not None else "")
