"""Utility: is a model trained on synthetic patients as good on real ones (train synthetic, test real)?

A small GRU (hidden 32) reads every variable up to step t and predicts the target variable at
step t + 1 (on the real data's empirical-CDF scale, with an L1 loss, so it learns a conditional
median; predictions go back to the variable's units through the real quantiles). It is trained
once on synthetic patients and once on as many real training patients, and both are scored by
mean absolute error on the same held-out real patients: the holdout when there is one, else a
random fifth of the real table that neither model sees. The real-trained model's error is the
reference, with or without a holdout.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from hgym_core.device import resolve_device
from hgym_core.errors import HGymError
from hgym_core.evaluation._features import StepFeatures, seeded_model, torch_generator
from hgym_core.evaluation._tables import Cohort, Cohorts
from hgym_core.evaluation.progress import Progress, Steps, no_progress
from hgym_core.evaluation.report import FamilyResult, Measurement, ScoreSpec
from hgym_core.evaluation.settings import EvaluationSettings

GROUP = "utility"
SPECS = {s.name: s for s in (
    ScoreSpec(GROUP, "TSTR MAE", "lower", 0.0, 0.1, 0.3,
              "mean absolute error (variable's units) of next-step predictions on held-out real patients "
              "by a GRU trained on synthetic patients; reference: the same GRU trained on real patients",
              relative=True),
)}
HIDDEN, BATCH, LEARNING_RATE, TEST_SHARE = 32, 128, 5e-3, 0.2


class NextStepPredictor(nn.Module):
    def __init__(self, n_features: int, device: torch.device | None = None):
        super().__init__()
        self.gru = nn.GRU(n_features, HIDDEN, batch_first=True, device=device)
        self.head = nn.Linear(HIDDEN, 1, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.gru(x)
        return torch.sigmoid(self.head(out).squeeze(-1))    # [B, T]: prediction for step t + 1


def target_index(cohorts: Cohorts, settings: EvaluationSettings) -> int | None:
    columns = cohorts.layout.columns
    if settings.utility_target is None:
        return next((v for v, c in enumerate(columns) if c.numeric and not c.static), None)
    names = [c.name for c in columns]
    if settings.utility_target not in names or not columns[names.index(settings.utility_target)].numeric:
        numeric = [c.name for c in columns if c.numeric]
        raise HGymError(f"Setting 'utility_target' is {settings.utility_target!r}, which is not a numeric variable "
                        f"of the schema; choose one of {numeric}.")
    return names.index(settings.utility_target)


class _Task:
    """Inputs x [N, T−1, F], targets y [N, T−1] on the ECDF scale and their mask, for one cohort."""

    def __init__(self, cohort: Cohort, features: StepFeatures, target: int):
        encoded = features.encode(cohort)
        raw = cohort.values[:, 1:, target]
        self.x = torch.from_numpy(encoded[:, :-1])
        self.raw = raw
        self.mask = torch.from_numpy(~np.isnan(raw))
        self.y = torch.from_numpy(np.nan_to_num(features.ecdf(target, raw), nan=0.0).astype(np.float32))


def train_predictor(task: _Task, steps: int, rng: np.random.Generator, device: torch.device) -> NextStepPredictor:
    model = seeded_model(NextStepPredictor, task.x.shape[-1], generator=torch_generator(rng)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    x, y, mask = task.x.to(device), task.y.to(device), task.mask.to(device)
    batch = min(BATCH, len(x))
    for _ in range(steps):
        pick = torch.from_numpy(rng.choice(len(x), batch, replace=False)).to(device)
        m = mask[pick]
        if not m.any():
            continue
        loss = (model(x[pick]) - y[pick]).abs()[m].mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model


def mean_absolute_error(model: NextStepPredictor, task: _Task, features: StepFeatures, target: int,
                        device: torch.device) -> float:
    with torch.no_grad():
        predicted = model(task.x.to(device)).cpu().numpy()
    observed = task.mask.numpy()
    if not observed.any():
        return float("nan")
    in_units = features.inverse_ecdf(target, predicted[observed].astype(np.float64))
    return float(np.abs(in_units - task.raw[observed]).mean())


def measure(cohorts: Cohorts, settings: EvaluationSettings, rng: np.random.Generator,
            max_patients: int | None = None, progress: Progress = no_progress) -> FamilyResult:
    target = target_index(cohorts, settings)
    if target is None:
        return FamilyResult(SPECS, notes=["Utility (TSTR) not scored: the schema has no time-varying numeric variable "
                                          "to predict."])
    if cohorts.layout.n_steps < 2:
        return FamilyResult(SPECS, notes=["Utility (TSTR) not scored: patients have a single step."])
    if cohorts.holdout is not None:
        real_train, test = cohorts.real, cohorts.holdout.sample(max_patients, rng)
        source = "the holdout"
    else:
        order = rng.permutation(cohorts.real.n_patients)
        n_test = max(1, round(TEST_SHARE * len(order)))
        test = cohorts.real.take(order[:n_test]).sample(max_patients, rng)
        real_train = cohorts.real.take(order[n_test:])
        source = f"a random {TEST_SHARE:.0%} of the real table kept out of training"
    n_train = min(real_train.n_patients, cohorts.synthetic.n_patients, max_patients or real_train.n_patients)
    device = resolve_device("auto")
    features = StepFeatures(cohorts.real)
    test_task = _Task(test, features, target)
    errors, steps = [], Steps(progress, 2)
    for label, train in (("synthetic", cohorts.synthetic), ("real", real_train)):
        steps.next(f"next-step predictor trained on {label} patients")
        task = _Task(train.sample(n_train, rng), features, target)
        model = train_predictor(task, settings.utility_steps, rng, device)
        errors.append(mean_absolute_error(model, test_task, features, target, device))
    name = cohorts.layout.columns[target].name
    notes = [f"Utility (TSTR): predicts '{name}' one step ahead; each model trained on {n_train:,} patients for "
             f"{settings.utility_steps} updates, tested on {test.n_patients:,} real patients from {source}."]
    return FamilyResult(SPECS, [Measurement("TSTR MAE", name, errors[0], reference=errors[1])], notes=notes)
