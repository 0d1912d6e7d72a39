"""What ``evaluate`` returns: a list of ``Score`` records with verdicts, figure data and notes.

Verdict rule (one rule for every score)
---------------------------------------
Each score has an ideal value (1 for similarities, 0 for differences and copies, 0.5 for AUCs
and the DCR share) and a direction: "higher" (below the ideal is worse), "lower" (above the
ideal is worse) or "target" (both sides are worse). Its *shortfall* is how far it falls short
of the ideal on the bad side (0 at or beyond the ideal). The verdict compares the shortfall with
the best a synthetic set can be expected to reach:

- with a reference (the same score for the training data vs the held-out real data), the
  reference's own shortfall: real data is not perfect against real data either;
- without one, zero (the ideal itself).

    excess = shortfall(value) - shortfall(reference, or 0)
    "good" if excess <= good band, "fair" if excess <= fair band, else "poor"

The bands belong to each score (``ScoreSpec``; e.g. KS complement 0.05 / 0.15). Scores in
units (the TSTR mean absolute error) use ratios instead: excess = value / reference - 1. A
score that could not be computed (NaN) gets "n/a".
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

Direction = Literal["higher", "lower", "target"]
Verdict = Literal["good", "fair", "poor", "n/a"]
SUMMARY_COLUMNS = ["group", "score", "variable", "value", "reference", "verdict"]


@dataclass(frozen=True)
class ScoreSpec:
    """How one score is read: its direction, ideal, verdict bands and a one-line definition."""

    group: str
    name: str
    direction: Direction
    ideal: float
    good: float
    fair: float
    definition: str
    relative: bool = False        # bands are ratios to the reference (scores in units)

    def shortfall(self, value: float) -> float:
        if self.direction == "higher":
            return max(0.0, self.ideal - value)
        if self.direction == "lower":
            return max(0.0, value - self.ideal)
        return abs(value - self.ideal)

    def verdict(self, value: float | None, reference: float | None) -> Verdict:
        if value is None or not math.isfinite(value):
            return "n/a"
        has_reference = reference is not None and math.isfinite(reference)
        if self.relative:
            if not has_reference or reference <= 0:
                return "n/a"
            excess = value / reference - 1.0
        else:
            excess = self.shortfall(value) - (self.shortfall(reference) if has_reference else 0.0)
        if excess <= self.good:
            return "good"
        return "fair" if excess <= self.fair else "poor"


@dataclass(frozen=True)
class Measurement:
    """A raw value from a score family, before it is read against its spec."""

    name: str
    variable: str
    value: float
    reference: float | None = None
    spread: float | None = None     # standard deviation over repetitions, where the score repeats


@dataclass
class FamilyResult:
    """What one score family found: measurements, the specs to read them by, figure data, notes."""

    specs: dict[str, ScoreSpec]
    measurements: list[Measurement] = field(default_factory=list)
    details: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Score:
    group: str
    name: str
    variable: str                  # "" for a score over all variables
    value: float
    reference: float | None        # real (training) vs holdout; None without a holdout
    direction: Direction
    ideal: float
    verdict: str
    definition: str
    spread: float | None = None

    @classmethod
    def from_measurement(cls, spec: ScoreSpec, m: Measurement) -> "Score":
        return cls(spec.group, spec.name, m.variable, float(m.value),
                   None if m.reference is None else float(m.reference), spec.direction, spec.ideal,
                   spec.verdict(m.value, m.reference), spec.definition,
                   None if m.spread is None else float(m.spread))


def pair_measurements(synthetic: list[Measurement], reference: list[Measurement] | None) -> list[Measurement]:
    """Attach to each synthetic measurement the same score computed on the holdout (matched by name, variable)."""
    if reference is None:
        return synthetic
    by_key = {(m.name, m.variable): m.value for m in reference}
    return [Measurement(m.name, m.variable, m.value, by_key.get((m.name, m.variable)), m.spread)
            for m in synthetic]


@dataclass
class Report:
    """Every score of one evaluation, with figure data (``details``) and what was subsampled (``notes``)."""

    scores: list[Score]
    specs: dict[str, ScoreSpec]                          # by score name, for overview verdicts
    details: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)             # sizes, seed, settings, seconds per group

    def summary(self) -> pd.DataFrame:
        """One row per score: group, score, variable, value, reference, verdict."""
        rows = [(s.group, s.name, s.variable, s.value, s.reference, s.verdict) for s in self.scores]
        frame = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
        frame["reference"] = frame["reference"].astype(float)
        return frame

    def overview(self) -> pd.DataFrame:
        """One row per score family: the mean over its variables, read with the same verdict rule."""
        rows = []
        for name, group in _ordered_groups(self.scores):
            values = [s.value for s in group]
            references = [s.reference for s in group if s.reference is not None]
            value = _nanmean(values)
            reference = _nanmean(references) if references else None
            spec = self.specs[name]
            rows.append((spec.group, name, value, reference, spec.verdict(value, reference), len(group)))
        frame = pd.DataFrame(rows, columns=["group", "score", "value", "reference", "verdict", "n_variables"])
        frame["reference"] = frame["reference"].astype(float)
        return frame

    def score(self, name: str, variable: str = "") -> Score:
        """The score with that name (and variable); KeyError naming what exists otherwise."""
        for s in self.scores:
            if s.name == name and s.variable == variable:
                return s
        raise KeyError(f"No score {name!r} for variable {variable!r}; "
                       f"scores are {sorted({s.name for s in self.scores})}")

    # ---- JSON ---------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain JSON-safe data: NaN and infinities become None, arrays become lists."""
        return _json_safe({
            "scores": [asdict(s) for s in self.scores],
            "specs": {name: asdict(spec) for name, spec in self.specs.items()},
            "details": self.details,
            "notes": list(self.notes),
            "meta": self.meta,
        })

    @classmethod
    def from_dict(cls, data: dict) -> "Report":
        def number(x):
            return float("nan") if x is None else x
        scores = [Score(**{**s, "value": number(s["value"])}) for s in data["scores"]]
        specs = {name: ScoreSpec(**spec) for name, spec in data["specs"].items()}
        return cls(scores, specs, data.get("details", {}), data.get("notes", []), data.get("meta", {}))

    def to_json(self, path: str | os.PathLike) -> Path:
        """Write atomically (temp file + replace)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False, allow_nan=False) + "\n",
                       encoding="utf-8")
        os.replace(tmp, path)
        return path

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> "Report":
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def _ordered_groups(scores: list[Score]) -> list[tuple[str, list[Score]]]:
    grouped: dict[str, list[Score]] = {}
    for s in scores:
        grouped.setdefault(s.name, []).append(s)
    return list(grouped.items())


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def _json_safe(obj):
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _json_safe(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer, int)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else None
    return obj
