"""Privacy: do synthetic patients sit closer to the training patients than to unseen real ones?

Distance between two patients (METRICS.md): the mean over all variables and steps of a
per-value distance: numeric |a − b| / (real max − real min) with both values first clipped to
the real [min, max] (so at most 1: METRICS.md caps instead; the two differ only for values
outside the real range, and clipping makes the sum an L1 distance that torch.cdist computes
~10x faster); labels 0 if equal else 1; a missing value against a value 1, two missing values 0.
Patients of different lengths are compared over the longest: a step one patient lacks counts as
all-missing. "Real" here is the training table.

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
from hgym_core.evaluation.progress import Progress, Steps, no_progress
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
# The advice in the sampling note when max_patients (not the holdout's size) limited the samples;
# a caller with no such setting to offer (the Compare page) says its own instead.
RAISE_MAX_PATIENTS = "raise max_patients to see more"


class DistanceSpace:
    """Patients as vectors whose distances are the patient distance above, in two fast products.

    Numeric values are scaled by the real range and clipped to it, u in [0, 1], so no per-value
    difference exceeds 1 (the cap) and each value becomes the pair (u/2, (1 − u)/2), a missing one
    (3/4, 3/4): the L1 distance of two pairs is then |u − v| for two values, 1 for a value
    against a missing one and 0 for two missing ones, and torch.cdist(p=1) adds them all up in
    one pass. Labels are one-hot with "missing" as one more label: equal labels are a 1 in the
    matrix product, so mismatches = labels compared − product.
    """

    def __init__(self, real: Cohort, device: torch.device):
        columns = real.layout.columns
        self.numeric = [v for v, c in enumerate(columns) if c.numeric]
        self.labels = [(v, len(c.labels)) for v, c in enumerate(columns) if not c.numeric]
        rows = real.rows()[:, self.numeric]
        observed = ~np.isnan(rows)
        self.low = np.where(observed, rows, np.inf).min(axis=0, initial=np.inf)
        high = np.where(observed, rows, -np.inf).max(axis=0, initial=-np.inf)
        spread = high - self.low
        self.low = np.where(np.isfinite(self.low), self.low, 0.0)
        self.spread = np.where(np.isfinite(spread) & (spread > 0), spread, 1.0)
        self.n_values = real.layout.n_steps * len(columns)
        self.device = device

    def numeric_part(self, cohort: Cohort) -> torch.Tensor:
        u = np.clip((cohort.values[:, :, self.numeric] - self.low) / self.spread, 0.0, 1.0)
        pairs = np.stack([u / 2, (1 - u) / 2], axis=-1)
        pairs[np.isnan(u)] = 0.75
        return torch.from_numpy(pairs.reshape(cohort.n_patients, -1).astype(np.float32)).to(self.device)

    def label_part(self, cohort: Cohort) -> torch.Tensor:
        parts = []
        for v, k in self.labels:
            codes = np.nan_to_num(cohort.values[:, :, v], nan=k)     # missing is label k
            parts.append(codes[..., None] == np.arange(k + 1))
        onehot = np.concatenate(parts, axis=-1)
        return torch.from_numpy(onehot.reshape(cohort.n_patients, -1).astype(np.float32)).to(self.device)

    def distances(self, a: Cohort, b: Cohort) -> np.ndarray:
        """float64 [len(a), len(b)]: mean per-value distance between every pair of patients."""
        total = torch.zeros(a.n_patients, b.n_patients, device=self.device)
        if self.numeric:
            total += torch.cdist(self.numeric_part(a), self.numeric_part(b), p=1.0)
        if self.labels:
            total += a.layout.n_steps * len(self.labels) - self.label_part(a) @ self.label_part(b).T
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
            max_patients: int | None = None, progress: Progress = no_progress) -> FamilyResult:
    steps = Steps(progress, 1 if cohorts.holdout is None else 3)
    steps.next("exact copies")
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
    space = DistanceSpace(cohorts.real, resolve_device("auto"))
    steps.next("distances to training patients")
    to_members = space.distances(synthetic, members)
    steps.next("distances to holdout patients")
    to_outsiders = space.distances(synthetic, outsiders)
    dcr_train, dcr_holdout = to_members.min(axis=1), to_outsiders.min(axis=1)
    share = float(np.mean((dcr_train < dcr_holdout) + 0.5 * (dcr_train == dcr_holdout)))
    mia = roc_auc(-to_members.min(axis=0), -to_outsiders.min(axis=0))
    notes = [f"Privacy: distances between {synthetic.n_patients:,} synthetic patients (of "
             f"{cohorts.synthetic.n_patients:,}) and {m:,} training + {m:,} holdout patients (of "
             f"{cohorts.real.n_patients:,} and {cohorts.holdout.n_patients:,}); exact copies checked against every "
             "training patient."]
    if m < cohorts.real.n_patients or synthetic.n_patients < cohorts.synthetic.n_patients:
        capped = max_patients is not None and (max_patients < min(cohorts.real.n_patients, cohorts.holdout.n_patients)
                                               or synthetic.n_patients < cohorts.synthetic.n_patients)
        why = f"at most max_patients ({max_patients:,}) of each" if capped else \
            "as many training patients as the holdout has: the two are compared at equal sizes"
        notes.append(f"Privacy: with samples ({why}), a synthetic copy of a training patient counts only when both "
                     f"are sampled ({m / cohorts.real.n_patients:.0%} of training, "
                     f"{synthetic.n_patients / cohorts.synthetic.n_patients:.0%} of synthetic patients), so DCR share "
                     "and membership inference AUC understate memorisation"
                     + (f"; {RAISE_MAX_PATIENTS}." if capped else "."))
    return FamilyResult(SPECS, [Measurement("DCR share", "", share),
                                Measurement("exact copies", "", copies, reference=copies_reference),
                                Measurement("membership inference AUC", "", mia)],
                        {"dcr_train": dcr_train, "dcr_holdout": dcr_holdout}, notes)
