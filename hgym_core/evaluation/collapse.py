"""Collapsed variables: a generator that puts (nearly) every synthetic row at one value.

A variable has collapsed in the synthetic data when
- labels: one category holds at least 95% of the synthetic rows (with a value) while its real share is
  below 80% (every synthetic patient "Male" where 60% of the real ones are);
- numbers: the synthetic standard deviation is below 10% of the real one;
- either: no synthetic row has a value while real rows do.
Rows are pooled patient-steps. The scores show a collapse only as one low number among many; the
report's notes and the Compare page say it in words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hgym_core.data.schema import Schema
from hgym_core.evaluation._stats import shares
from hgym_core.evaluation._tables import Cohort, tabulate

TOP_SHARE = 0.95         # a synthetic category this common ...
REAL_SHARE_BELOW = 0.80  # ... where it is less common than this in the real data
SD_RATIO = 0.10          # a synthetic SD below this share of the real SD


@dataclass(frozen=True)
class Collapse:
    variable: str
    description: str     # what collapsed, in words: "100% of synthetic rows are 'Male' (real 61%)"

    def __str__(self) -> str:
        return f"{self.variable}: {self.description}"


def collapsed_variables(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema) -> list[Collapse]:
    """The variables of ``schema`` that collapsed in ``synthetic`` against ``real`` (module docstring)."""
    cohorts = tabulate({"real": real, "synthetic": synthetic}, schema)
    return collapsed(cohorts["real"], cohorts["synthetic"])


def collapsed(real: Cohort, synthetic: Cohort) -> list[Collapse]:
    """``collapsed_variables`` on tabulated cohorts (one layout)."""
    found = []
    real_rows, synthetic_rows = real.rows(), synthetic.rows()
    for v, column in enumerate(real.layout.columns):
        description = (_numeric_collapse if column.numeric else _label_collapse)(
            real_rows[:, v], synthetic_rows[:, v], column.labels)
        if description:
            found.append(Collapse(column.name, description))
    return found


NOTE_START = "Collapsed in the synthetic data: "   # a page that says it elsewhere leaves the note out


def collapse_note(found: list[Collapse]) -> list[str]:
    """The report's note for ``found`` (none when nothing collapsed)."""
    if not found:
        return []
    return [NOTE_START + "; ".join(map(str, found)) + "."]


def _label_collapse(real: np.ndarray, synthetic: np.ndarray, labels: tuple) -> str | None:
    real_shares, synthetic_shares = shares(real, len(labels)), shares(synthetic, len(labels))
    if not np.isfinite(real_shares).all():
        return None                                   # nothing real to compare with
    if not np.isfinite(synthetic_shares).all():
        return "no synthetic row has a value"
    top = int(np.argmax(synthetic_shares))
    if synthetic_shares[top] >= TOP_SHARE and real_shares[top] < REAL_SHARE_BELOW:
        return (f"{synthetic_shares[top]:.0%} of synthetic rows are '{labels[top]}' "
                f"(real {real_shares[top]:.0%})")
    return None


def _numeric_collapse(real: np.ndarray, synthetic: np.ndarray, labels: tuple) -> str | None:
    real, synthetic = real[np.isfinite(real)], synthetic[np.isfinite(synthetic)]
    if len(real) < 2 or real.std() == 0:
        return None
    if len(synthetic) == 0:
        return "no synthetic row has a value"
    if synthetic.std() == 0:
        return f"every synthetic value is {synthetic[0]:.4g} (real SD {real.std():.3g})"
    ratio = synthetic.std() / real.std()
    if ratio < SD_RATIO:
        return f"synthetic SD {synthetic.std():.3g} is {ratio:.0%} of the real SD {real.std():.3g}"
    return None
