"""A cheap validation score during training: is the generator getting closer to the real patients?

GAN losses say little about sample quality (the critic keeps moving), so every
``validation_every`` generator steps the trainer samples synthetic patients, decodes them and
scores them against (up to ``VALIDATION_PATIENTS``) training patients with the score families that
need no model training: marginals (each variable's distribution, missing rates, point masses) and
temporal structure (autocorrelations, month-to-month changes, held values, lengths, trends). The
validation loss is the mean distance of those scores from their ideal (``ScoreSpec.shortfall``):
0 is a perfect match. The generator with the lowest loss is kept for sampling, and with
``early_stop`` training ends when the loss has not improved for that many validations.

Sampling for validation draws from its own seeded stream, so training's random draws, and so the
trained weights, are the same with validation on or off.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn

from hgym_core.data.encoding import EncodedCohort, Encoder
from hgym_core.evaluation import EvaluationSettings, evaluate
from hgym_core.gan.sampling import sample_table

VALIDATION_PATIENTS = 300
VALIDATION_GROUPS = ("marginals", "temporal")


def validation_loss(real, synthetic, schema) -> float:
    """Mean shortfall from ideal of the marginal and temporal scores (0 = identical)."""
    report = evaluate(real, synthetic, schema, settings=EvaluationSettings(groups=VALIDATION_GROUPS),
                      max_patients=None)
    shortfalls = [report.specs[score.name].shortfall(score.value) for score in report.scores
                  if score.value is not None and math.isfinite(score.value)]
    return float(np.mean(shortfalls)) if shortfalls else math.inf


class Validator:
    """Scores a generator every ``every`` steps and keeps the best one (and when to stop)."""

    def __init__(self, encoder: Encoder, cohort: EncodedCohort, seed: int, every: int, patience: int | None):
        self.encoder, self.seed, self.every, self.patience = encoder, seed, every, patience
        n = min(VALIDATION_PATIENTS, cohort.n_patients)
        first = cohort.subset(torch.arange(n))
        self.real = encoder.decode_rows(first.rows.cpu(), first.lengths)
        self.n_patients = n
        self.best_loss = math.inf
        self.best_step: int | None = None
        self.best_generator: dict | None = None
        self.since_best = 0
        self.last_loss: float | None = None

    def due(self, step: int) -> bool:
        return step % self.every == 0

    def validate(self, generator: nn.Module, step: int) -> bool:
        """Score the generator after ``step``; True when it is the best so far (then it is kept)."""
        device = next(generator.parameters()).device
        noise = torch.Generator(device=device).manual_seed(int(np.random.SeedSequence([self.seed, step]).generate_state(1)[0]))
        synthetic = sample_table(generator, self.encoder, self.n_patients, self.encoder.max_length, noise)
        self.last_loss = validation_loss(self.real, synthetic, self.encoder.schema)
        if self.last_loss < self.best_loss:
            self.best_loss, self.best_step, self.since_best = self.last_loss, step, 0
            self.best_generator = {name: value.detach().cpu().clone() for name, value in generator.state_dict().items()}
            return True
        self.since_best += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.since_best >= self.patience

    def state_dict(self) -> dict:
        return {"best_loss": self.best_loss, "best_step": self.best_step, "since_best": self.since_best,
                "last_loss": self.last_loss, "best_generator": copy.copy(self.best_generator)}

    def load_state_dict(self, state: dict) -> None:
        self.best_loss, self.best_step = state["best_loss"], state["best_step"]
        self.since_best, self.last_loss = state["since_best"], state["last_loss"]
        self.best_generator = state["best_generator"]
