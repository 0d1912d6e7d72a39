"""Privacy: do synthetic patients sit closer to the training patients than to unseen real ones?

Distance between two patients (METRICS.md): the mean over all variables and steps of a
per-value distance: numeric |a − b| / (real max − real min), capped at 1; labels 0 if equal
else 1; a missing value against a value 1, two missing values 0. Patients of different
lengths are compared over the longest: a step one patient lacks counts as all-missing.

- DCR share: for each synthetic patient, the distance to the nearest training patient and to the
  nearest holdout patient (equally many of each); the share closer to training (ties count
  half). ≈ 0.5 means no memorisation; well above means leakage.
- Exact copies: the share of synthetic patients identical to a training patient (all values
  equal to 6 significant digits, same length), checked against every training patient by
  hashing; reference: the share of holdout patients identical to a training patient.
- Membership inference: an attacker scores each training and holdout patient by its distance to
  the nearest synthetic patient (closer = "was in training"); ROC AUC, 0.5 ideal.
DCR share and membership inference need a holdout; exact copies do not.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from hgym_core.device import resolve_device
from hgym_core.evaluation._stats import roc_auc
from hgym_core.evaluation._tables import Cohort, Cohorts
from hgym_core.evaluation.report import FamilyResult, Measurement, ScoreSpec
from hgym_core.evaluation.settings import EvaluationSettings

GROUP = "privacy"
SPECS = {s.name: s for s in (
    ScoreSpec(GROUP, "DCR share", "lower", 0.5, 0.05, 0.1,
              "share of synthetic patients closer to their nearest training patient than to their nearest "
              "holdout patient (distance to closest record; equally many training and holdout patients)"),
    ScoreSpec(GROUP, "exact copies", "lower", 0.0, 0.005, 0.02,
              "share of synthetic patients identical to a training patient (6 significant digits)"),
    ScoreSpec(GROUP, "membership inference AUC", "lower", 0.5, 0.05, 0.1,
              "ROC AUC of telling training from holdout patients by distance to the nearest synthetic patient"),
)}
SIGNIFICANT_DIGITS = 6
CHUNK_BYTES = 64 * 2**20          # working memory for one block of numeric differences


class DistanceSpace:
    """Patients as vectors whose distance is the METRICS.md patient distance, computed in blocks.

    Numeric values are divided by the real range and every missing (or absent) value is set to a
    sentinel 2 beyond the largest value, so min(|a − b|, 1) gives the capped distance, 1 for
    missing vs value and 0 for missing vs missing in one elementwise pass. Labels are one-hot
    with "missing" as one more label, so their mismatches come from one matrix product.
    """

    def __init__(self, real: Cohort, others: list[Cohort], device: torch.device):
        columns = real.layout.columns
        self.numeric = [v for v, c in enumerate(columns) if c.numeric]
        self.labels = [(v, len(c.labels)) for v, c in enumerate(columns) if not c.numeric]
        rows = real.rows()[:, self.numeric]
        with np.errstate(invalid="ignore"):
            spread = np.nanmax(rows, axis=0, initial=-np.inf) - np.nanmin(rows, axis=0, initial=np.inf)
        self.spread = np.where(np.isfinite(spread) & (spread > 0), spread, 1.0)
        largest = max((np.nanmax(np.abs(c.values[:, :, self.numeric]) / self.spread, initial=0.0)
                       for c in [real, *others]), default=0.0)
        self.sentinel = float(largest) + 2.0
        self.n_values = real.layout.n_steps * len(columns)
        self.device = device

    def numeric_part(self, cohort: Cohort) -> torch.Tensor:
        scaled = cohort.values[:, :, self.numeric] / self.spread
        scaled = np.where(np.isnan(scaled), self.sentinel, scaled)
        return torch.from_numpy(scaled.reshape(cohort.n_patients, -1).astype(np.float32)).to(self.device)

    def label_part(self, cohort: Cohort) -> torch.Tensor:
        parts = []
        for v, k in self.labels:
            codes = np.nan_to_num(cohort.values[:, :, v], nan=k)     # missing is label k
            parts.append(codes[..., None] == np.arange(k + 1))
        onehot = np.concatenate(parts, axis=-1) if parts else np.zeros((cohort.n_patients, 0, 0), dtype=bool)
        return torch.from_numpy(onehot.reshape(cohort.n_patients, -1).astype(np.float32)).to(self.device)

    def distances(self, a: Cohort, b: Cohort) -> np.ndarray:
        """float64 [len(a), len(b)]: mean per-value distance between every pair of patients."""
        total = torch.zeros(a.n_patients, b.n_patients, device=self.device)
        if self.labels:
            steps_times_labels = a.layout.n_steps * len(self.labels)
            total += steps_times_labels - self.label_part(a) @ self.label_part(b).T
        if self.numeric:
            na, nb = self.numeric_part(a), self.numeric_part(b)
            rows = max(1, CHUNK_BYTES // (4 * max(1, nb.numel())))
            for start in range(0, len(na), rows):
                block = (na[start:start + rows, None, :] - nb[None, :, :]).abs_().clamp_(max=1.0)
                total[start:start + rows] += block.sum(-1)
        return (total / self.n_values).double().cpu().numpy()


def patient_fingerprints(cohort: Cohort) -> list[bytes]:
    """One digest per patient of its length and values rounded to 6 significant digits."""
    x = cohort.values
    with np.errstate(divide="ignore", invalid="ignore"):
        magnitude = np.where((x == 0) | ~np.isfinite(x), 0.0, np.floor(np.log10(np.abs(x))))
        scale = 10.0 ** (SIGNIFICANT_DIGITS - 1 - magnitude)
        rounded = np.round(x * scale) / scale
    rounded = np.where(np.isnan(x), np.inf, rounded) + 0.0    # one bit pattern for missing, none for -0.0
    return [hashlib.blake2b(length.tobytes() + row.tobytes(), digest_size=16).digest()
            for length, row in zip(cohort.lengths.astype(np.int64), rounded)]


def copy_share(candidates: Cohort, training: set[bytes]) -> float:
    return float(np.mean([f in training for f in patient_fingerprints(candidates)]))


def measure(cohorts: Cohorts, settings: EvaluationSettings, rng: np.random.Generator,
            max_patients: int | None = None) -> FamilyResult:
    training = set(patient_fingerprints(cohorts.real))
    copies = copy_share(cohorts.synthetic, training)
    if cohorts.holdout is None:
        return FamilyResult(SPECS, [Measurement("exact copies", "", copies)], notes=[
            "Privacy: DCR share and membership inference not scored: they need a holdout (real patients "
            "kept out of training) to tell memorisation from ordinary closeness."])
    copies_reference = copy_share(cohorts.holdout, training)
    m = min(cohorts.real.n_patients, cohorts.holdout.n_patients, max_patients or cohorts.real.n_patients)
    synthetic = cohorts.synthetic.sample(max_patients, rng)
    members, outsiders = cohorts.real.sample(m, rng), cohorts.holdout.sample(m, rng)
    space = DistanceSpace(cohorts.real, [cohorts.synthetic, cohorts.holdout], resolve_device("auto"))
    to_members = space.distances(synthetic, members)
    to_outsiders = space.distances(synthetic, outsiders)
    dcr_train, dcr_holdout = to_members.min(axis=1), to_outsiders.min(axis=1)
    share = float(np.mean((dcr_train < dcr_holdout) + 0.5 * (dcr_train == dcr_holdout)))
    mia = roc_auc(-to_members.min(axis=0), -to_outsiders.min(axis=0))
    notes = [f"Privacy: distances between {synthetic.n_patients:,} synthetic patients and {m:,} training + {m:,} "
             f"holdout patients (of {cohorts.real.n_patients:,} and {cohorts.holdout.n_patients:,}); exact copies "
             "checked against every training patient."]
    return FamilyResult(SPECS, [Measurement("DCR share", "", share),
                                Measurement("exact copies", "", copies, reference=copies_reference),
                                Measurement("membership inference AUC", "", mia)],
                        {"dcr_train": dcr_train, "dcr_holdout": dcr_holdout}, notes)
