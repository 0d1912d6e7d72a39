"""Model inputs for the classifier- and predictor-based scores, and seeded torch set-up.

``StepFeatures`` is fitted on the real cohort and turns any cohort on the same layout into
float32 [N, T, F]:
- numeric: the real empirical CDF of the value (mid-rank in [0, 1], so long tails such as viral
  load do not swamp the rest), 0 when missing, plus a 0/1 "missing" channel;
- labels: one-hot over the layout's vocabulary (all zeros when missing);
- one "present" channel, 1 on a patient's steps and 0 on the padding after its last step.
Padding steps are all zeros, so a model sees a patient's length through "present".
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn.utils import skip_init

from hgym_core.evaluation._stats import sorted_finite
from hgym_core.evaluation._tables import Cohort


class StepFeatures:
    def __init__(self, real: Cohort):
        self.layout = real.layout
        rows = real.rows()
        self.sorted_real = {v: sorted_finite(rows[:, v]) for v, c in enumerate(self.layout.columns) if c.numeric}
        self.n_features = 1 + sum(2 if c.numeric else len(c.labels) for c in self.layout.columns)

    def ecdf(self, v: int, values: np.ndarray) -> np.ndarray:
        """Mid-rank of ``values`` among the real values of variable v, in [0, 1] (NaN stays NaN)."""
        ref = self.sorted_real[v]
        if len(ref) == 0:
            return np.where(np.isnan(values), np.nan, 0.5)
        below = np.searchsorted(ref, values, side="left")
        upto = np.searchsorted(ref, values, side="right")
        return np.where(np.isnan(values), np.nan, (below + upto) / (2.0 * len(ref)))

    def inverse_ecdf(self, v: int, u: np.ndarray) -> np.ndarray:
        """Real quantile at level u: maps a prediction on the ECDF scale back to the variable's units."""
        ref = self.sorted_real[v]
        return np.interp(u, (np.arange(len(ref)) + 0.5) / len(ref), ref)

    def encode(self, cohort: Cohort) -> np.ndarray:
        """float32 [N, T, F] for whole sequences."""
        return self.encode_values(cohort.values, cohort.present)

    def encode_rows(self, rows: np.ndarray) -> np.ndarray:
        """float32 [R, F - 1] for single patient-steps [R, V] (no "present" channel: every row is a step)."""
        return self.encode_values(rows, np.ones(len(rows), dtype=bool))[:, :-1]

    def encode_values(self, values: np.ndarray, present: np.ndarray) -> np.ndarray:
        parts = []
        for v, column in enumerate(self.layout.columns):
            x = values[..., v]
            if column.numeric:
                parts.append(np.nan_to_num(self.ecdf(v, x), nan=0.0)[..., None])
                parts.append((np.isnan(x) & present)[..., None])
            else:
                parts.append(x[..., None] == np.arange(len(column.labels)))
        parts.append(present[..., None])
        return np.concatenate(parts, axis=-1, dtype=np.float32)


def seeded_model(module_class: type[nn.Module], *args, generator: torch.Generator) -> nn.Module:
    """Build ``module_class(*args, device=...)`` with PyTorch's default uniform initialisation drawn
    from ``generator``: evaluation must be reproducible without touching torch's global RNG (a
    training job may be drawing from it), so the module is created uninitialised (skip_init) and
    filled here. GRU: every weight and bias ~ U(±1/√hidden); Linear: ~ U(±1/√in_features).
    """
    module = skip_init(module_class, *args)
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, nn.GRU):
                bound = sub.hidden_size ** -0.5
            elif isinstance(sub, nn.Linear):
                bound = sub.in_features ** -0.5
            else:
                continue
            for p in sub.parameters(recurse=False):
                p.copy_(torch.rand(p.shape, generator=generator) * 2 * bound - bound)
    return module


def torch_generator(rng: np.random.Generator) -> torch.Generator:
    return torch.Generator().manual_seed(int(rng.integers(2**62)))
