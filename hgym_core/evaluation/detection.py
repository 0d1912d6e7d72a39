"""Detection: can a classifier tell synthetic patients from real ones?

Sequence level (TimeGAN's discriminative score): take n patients from each table, split each
80/20, train a one-layer GRU (hidden max(8, F/2)) + linear + sigmoid on the 80% with Adam and
binary cross-entropy on batches of 128 real + 128 synthetic, then score |accuracy on the 20% −
0.5|: 0 when the two cannot be told apart, 0.5 when they always can. Repeated with fresh
samples and splits; the report gives the mean and the spread (standard deviation). Training
stops at ``detection_steps`` updates or earlier when the training loss stops falling (no 1%
improvement of its 20-step mean in 60 steps) or reaches 0.01 (separated).

Row level: logistic regression (ridge-stabilised Newton iterations) on single patient-steps
(the same features without the sequence), 3-fold cross-validated ROC AUC; 0.5 is ideal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from hgym_core.device import resolve_device
from hgym_core.evaluation._features import StepFeatures, seeded_model, torch_generator
from hgym_core.evaluation._stats import roc_auc
from hgym_core.evaluation._tables import Cohort, Cohorts
from hgym_core.evaluation.progress import Progress, Steps, no_progress
from hgym_core.evaluation.report import FamilyResult, Measurement, ScoreSpec, pair_measurements
from hgym_core.evaluation.settings import EvaluationSettings

GROUP = "detection"
SPECS = {s.name: s for s in (
    ScoreSpec(GROUP, "discriminative score", "lower", 0.0, 0.1, 0.2,
              "|held-out accuracy − 0.5| of a one-layer GRU classifier of real vs synthetic sequences "
              "trained on 80% of each (TimeGAN protocol); mean over repetitions"),
    ScoreSpec(GROUP, "row detection AUC", "target", 0.5, 0.05, 0.15,
              "3-fold cross-validated ROC AUC of a logistic regression telling real from synthetic "
              "single patient-steps"),
)}
BATCH = 128                  # per side, as in TimeGAN
LEARNING_RATE = 5e-3         # above Adam's 1e-3 default: the step budget is shorter than TimeGAN's
WINDOW, PATIENCE, MIN_GAIN, SEPARATED = 20, 3, 0.01, 0.01
RIDGE, NEWTON_STEPS = 1.0, 25


class SequenceClassifier(nn.Module):
    def __init__(self, n_features: int, device: torch.device | None = None):
        super().__init__()
        self.gru = nn.GRU(n_features, max(8, n_features // 2), batch_first=True, device=device)
        self.head = nn.Linear(self.gru.hidden_size, 1, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, last = self.gru(x)
        return self.head(last[-1]).squeeze(-1)          # logit of "real"


def discriminative_run(real: np.ndarray, other: np.ndarray, steps: int, rng: np.random.Generator,
                       device: torch.device) -> tuple[float, int]:
    """One repetition on equally many sequences per side: (|test accuracy − 0.5|, updates made)."""
    n = len(real)
    order_real, order_other = rng.permutation(n), rng.permutation(n)
    n_train = min(n - 1, max(1, round(0.8 * n)))
    train_real, test_real = (torch.from_numpy(real[part]).to(device)
                             for part in (order_real[:n_train], order_real[n_train:]))
    train_other, test_other = (torch.from_numpy(other[part]).to(device)
                               for part in (order_other[:n_train], order_other[n_train:]))
    model = seeded_model(SequenceClassifier, real.shape[-1], generator=torch_generator(rng)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    batch = min(BATCH, n_train)
    targets = torch.cat([torch.ones(batch), torch.zeros(batch)]).to(device)
    losses, best, since_best, done = [], float("inf"), 0, 0
    for done in range(1, steps + 1):
        x = torch.cat([train_real[torch.from_numpy(rng.choice(n_train, batch, replace=False)).to(device)],
                       train_other[torch.from_numpy(rng.choice(n_train, batch, replace=False)).to(device)]])
        loss = nn.functional.binary_cross_entropy_with_logits(model(x), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if done % WINDOW == 0:
            window = float(np.mean(losses[-WINDOW:]))
            if window < SEPARATED:
                break
            best, since_best = (window, 0) if window < best * (1 - MIN_GAIN) else (best, since_best + 1)
            if since_best >= PATIENCE:
                break
    with torch.no_grad():
        correct = (model(test_real) > 0).sum().item() + (model(test_other) <= 0).sum().item()
    accuracy = correct / (len(test_real) + len(test_other))
    return abs(accuracy - 0.5), done


def logistic_auc(real_rows: np.ndarray, other_rows: np.ndarray, rng: np.random.Generator, folds: int = 3) -> float:
    """Mean held-out ROC AUC of ridge logistic regression (label 1 = real) over ``folds`` folds."""
    x = np.concatenate([real_rows, other_rows]).astype(np.float64)
    x = np.concatenate([x, np.ones((len(x), 1))], axis=1)            # intercept
    y = np.r_[np.ones(len(real_rows)), np.zeros(len(other_rows))]
    fold = rng.permutation(len(x)) % folds
    aucs = []
    for k in range(folds):
        train, test = fold != k, fold == k
        w = _fit_logistic(x[train], y[train])
        score = x[test] @ w
        aucs.append(roc_auc(score[y[test] == 1], score[y[test] == 0]))
    return float(np.mean(aucs))


def _fit_logistic(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    w = np.zeros(x.shape[1])
    ridge = RIDGE * np.eye(x.shape[1])
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))
        gradient = x.T @ (p - y) + ridge @ w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + ridge
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return w


@dataclass
class _PairResult:
    """Detection of one table against the real one."""

    scores: list[float]          # discriminative score of each repetition
    updates: list[int]           # GRU updates each repetition made
    auc: float
    n_patients: int
    n_rows: int

    def measurements(self) -> list[Measurement]:
        spread = float(np.std(self.scores)) if len(self.scores) > 1 else None
        return [Measurement("discriminative score", "", float(np.mean(self.scores)), spread=spread),
                Measurement("row detection AUC", "", self.auc)]


def detect(real: Cohort, other: Cohort, features: StepFeatures, settings: EvaluationSettings,
           max_patients: int | None, rng: np.random.Generator, device: torch.device, steps: Steps,
           label: str) -> _PairResult:
    """Detection of ``other`` (called ``label`` in progress) against ``real``: settings.detection_repeats + 1 steps."""
    n = min(real.n_patients, other.n_patients, max_patients or real.n_patients)
    runs = []
    for repeat in range(settings.detection_repeats if n >= 2 else 0):   # one patient per side: nothing to test on
        steps.next(f"sequence classifier {repeat + 1} of {settings.detection_repeats} ({label})")
        runs.append(discriminative_run(features.encode(real.sample(n, rng)), features.encode(other.sample(n, rng)),
                                       settings.detection_steps, rng, device))
    runs = runs or [(float("nan"), 0)]
    steps.next(f"row classifier ({label})")
    n_rows = min(len(real.rows()), len(other.rows()), settings.row_detection_rows)
    real_rows, other_rows = (rows[rng.choice(len(rows), n_rows, replace=False)] for rows in (real.rows(), other.rows()))
    auc = logistic_auc(features.encode_rows(real_rows), features.encode_rows(other_rows), rng)
    return _PairResult([score for score, _ in runs], [updates for _, updates in runs], auc, n, n_rows)


def measure(cohorts: Cohorts, settings: EvaluationSettings, rng: np.random.Generator,
            max_patients: int | None = None, progress: Progress = no_progress) -> FamilyResult:
    device = resolve_device("auto")
    features = StepFeatures(cohorts.real)
    steps = Steps(progress, (settings.detection_repeats + 1) * (1 if cohorts.holdout is None else 2))
    synthetic = detect(cohorts.real, cohorts.synthetic, features, settings, max_patients, rng, device, steps,
                       "synthetic")
    notes = [f"Detection (GRU): {synthetic.n_patients:,} patients per table (of {cohorts.real.n_patients:,} real and "
             f"{cohorts.synthetic.n_patients:,} synthetic), {settings.detection_repeats} repetition(s) of "
             f"{', '.join(map(str, synthetic.updates))} update(s) (at most {settings.detection_steps}; TimeGAN uses "
             f"up to 2,000) on {device.type.upper()}.",
             f"Detection (rows): {synthetic.n_rows:,} patient-steps per table."]
    reference = None
    if cohorts.holdout is not None:
        held = detect(cohorts.real, cohorts.holdout, features, settings, max_patients, rng, device, steps,
                      "holdout")
        reference = held.measurements()
        notes.append(f"Detection reference (training vs holdout): {held.n_patients:,} patients per table, updates "
                     f"{', '.join(map(str, held.updates))}.")
    return FamilyResult(SPECS, pair_measurements(synthetic.measurements(), reference),
                        {"discriminative_scores": synthetic.scores}, notes)
