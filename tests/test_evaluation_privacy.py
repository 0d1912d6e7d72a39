"""Privacy distances: the vectorised patient distance equals the per-value rule of METRICS.md."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import torch

from hgym_core.evaluation import EvaluationSettings, evaluate
from hgym_core.evaluation._tables import tabulate
from hgym_core.evaluation.privacy import DistanceSpace
from hgym_core.data.schema import Schema, Variable

SCHEMA = Schema("pid", "t", [Variable("CD4", "numeric"), Variable("VL", "numeric"),
                             Variable("Drug", "categorical", ["A", "B", "C"]), Variable("Flag", "binary", [0, 1])])


def random_table(rng: np.random.Generator, n: int, prefix: str, spread: float = 1.0) -> pd.DataFrame:
    rows = []
    for p in range(n):
        for t in range(int(rng.integers(1, 5))):          # lengths 1-4
            rows.append((f"{prefix}{p}", t,
                         np.nan if rng.random() < 0.2 else rng.normal(0, spread),
                         np.nan if rng.random() < 0.2 else rng.exponential(),
                         None if rng.random() < 0.2 else rng.choice(["A", "B", "C"]),
                         int(rng.random() < 0.5)))
    return pd.DataFrame(rows, columns=["pid", "t", "CD4", "VL", "Drug", "Flag"])


def per_value_distance(a: np.ndarray, b: np.ndarray, numeric: list[bool], low: np.ndarray, high: np.ndarray) -> float:
    """The rule written out value by value (a, b: [T, V] with NaN for missing or absent steps)."""
    total = 0.0
    for t in range(a.shape[0]):
        for v in range(a.shape[1]):
            x, y = a[t, v], b[t, v]
            if np.isnan(x) and np.isnan(y):
                continue
            if np.isnan(x) or np.isnan(y):
                total += 1.0
            elif numeric[v]:
                clip = lambda z: min(max(z, low[v]), high[v])      # noqa: E731
                total += abs(clip(x) - clip(y)) / (high[v] - low[v])
            else:
                total += float(x != y)
    return total / a.size


def test_vectorised_distance_equals_the_per_value_rule():
    rng = np.random.default_rng(0)
    cohorts = tabulate({"real": random_table(rng, 12, "r"), "synthetic": random_table(rng, 9, "s", spread=3.0)},
                       SCHEMA)
    real, synthetic = cohorts["real"], cohorts["synthetic"]
    space = DistanceSpace(real, torch.device("cpu"))
    rows = real.rows()
    low, high = np.nanmin(rows, axis=0), np.nanmax(rows, axis=0)
    numeric = [c.numeric for c in real.layout.columns]
    expected = np.array([[per_value_distance(s, r, numeric, low, high) for r in real.values]
                         for s in synthetic.values])
    np.testing.assert_allclose(space.distances(synthetic, real), expected, atol=1e-6)
    assert np.all(np.diag(space.distances(real, real)) == 0.0)        # a patient is at distance 0 from itself


def test_without_a_holdout_only_exact_copies_are_scored_and_the_note_says_why():
    rng = np.random.default_rng(1)
    real = random_table(rng, 30, "r")
    copied = pd.concat([real[real["pid"].isin([f"r{i}" for i in range(15)])], random_table(rng, 15, "s")])
    report = evaluate(real, copied, SCHEMA, settings=EvaluationSettings(groups=("privacy",)))
    assert [s.name for s in report.scores] == ["exact copies"]
    assert report.score("exact copies").value == pytest.approx(0.5)
    assert report.score("exact copies").reference is None
    assert any("need a holdout" in note for note in report.notes)


def test_exact_copies_survive_a_csv_round_trip_and_last_digit_noise():
    rng = np.random.default_rng(2)
    real = random_table(rng, 20, "r")
    buffer = io.StringIO()
    real.assign(pid="copy-" + real["pid"]).to_csv(buffer, index=False)
    copy = pd.read_csv(io.StringIO(buffer.getvalue()))          # labels and numbers re-typed by the reader
    copy["VL"] = copy["VL"] * (1 + 1e-13)                        # float noise far below 6 significant digits
    report = evaluate(real, copy, SCHEMA, settings=EvaluationSettings(groups=("privacy",)))
    assert report.score("exact copies").value == 1.0
    copy.loc[0, "CD4"] = 99.0                                    # one changed value: that patient is no copy
    report = evaluate(real, copy, SCHEMA, settings=EvaluationSettings(groups=("privacy",)))
    assert report.score("exact copies").value == pytest.approx(19 / 20)


def test_the_sampling_note_names_what_limited_the_samples():
    """A holdout smaller than the training side sets the sample sizes (both sides compared at equal
    sizes): no setting to raise then; max_patients is named only where it is the limit (issue 24)."""
    rng = np.random.default_rng(3)
    real, holdout, synthetic = random_table(rng, 40, "r"), random_table(rng, 10, "h"), random_table(rng, 30, "s")
    settings = EvaluationSettings(groups=("privacy",))
    [note] = [n for n in evaluate(real, synthetic, SCHEMA, holdout=holdout, settings=settings).notes
              if "understate" in n]
    assert "as many training patients as the holdout has" in note and "max_patients" not in note
    [note] = [n for n in evaluate(real, random_table(rng, 60, "s"), SCHEMA, holdout=holdout, max_patients=20,
                                  settings=settings).notes if "understate" in n]
    assert "at most max_patients (20) of each" in note and note.endswith("raise max_patients to see more.")
