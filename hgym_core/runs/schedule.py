"""How many generator steps a run takes at each curriculum length, and how long they should take.

Every epoch runs each length L of the curriculum in turn over the same number of batches, so
the steps left at each L follow from the step reached. A step at L = 60 costs several times one
at L = 10 (the LSTMs unroll over L), so an ETA from the last steps' average speed swings with
L; weighting the steps left at each L by that L's own step time does not.

    schedule = TrainingSchedule.plan(config, n_trained=1024, max_length=60)
    costs = StepCosts({10: 0.05, 60: 0.21})          # seconds per step, measured
    schedule.seconds_left(step=120, costs=costs)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hgym_core.data.encoding import curriculum_lengths
from hgym_core.gan.config import TrainConfig


@dataclass(frozen=True)
class TrainingSchedule:
    """The steps of a run in order: ``epochs`` times each of ``lengths``, ``batches`` steps each
    (the trainer's own loop: ``Trainer.curriculum``, ``Trainer.batches_per_stage``), and the time
    budget that may end it sooner (seconds, None without one)."""

    lengths: tuple[int, ...]
    batches: int
    epochs: int
    time_budget: float | None = None

    @classmethod
    def plan(cls, config: TrainConfig, n_trained: int, max_length: int) -> "TrainingSchedule":
        lengths = tuple(config.curriculum or curriculum_lengths(max_length))
        return cls(lengths, math.ceil(n_trained / config.batch_size), config.epochs, config.time_budget)

    @property
    def steps_per_epoch(self) -> int:
        return self.batches * len(self.lengths)

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.epochs

    def steps_left(self, step: int) -> dict[int, int]:
        """Steps still to run at each length once ``step`` steps are done (lengths repeated in a
        curriculum add up)."""
        left = {length: 0 for length in self.lengths}
        if step >= self.total_steps:
            return left
        epoch, within = divmod(max(step, 0), self.steps_per_epoch)
        stage, batch = divmod(within, self.batches)
        for index, length in enumerate(self.lengths):
            this_epoch = self.batches - batch if index == stage else (self.batches if index > stage else 0)
            left[length] += this_epoch + self.batches * (self.epochs - epoch - 1)
        return left

    def steps_within(self, seconds: float, costs: "StepCosts", overhead: float = 0.0) -> int:
        """How many steps from the start fit in ``seconds`` at ``costs`` (+ ``overhead`` a step): what a
        time budget trains, at most every step of the schedule."""
        per_epoch = sum(self.batches * (costs.at(length) + overhead) for length in self.lengths)
        if per_epoch <= 0:
            return self.total_steps
        epochs = min(self.epochs, int(seconds // per_epoch))
        steps, left = epochs * self.steps_per_epoch, seconds - epochs * per_epoch
        if epochs < self.epochs:
            for length in self.lengths:   # the epoch the budget ends in, length by length
                cost = costs.at(length) + overhead
                fit = min(self.batches, int(left // cost)) if cost > 0 else self.batches
                steps, left = steps + fit, left - fit * cost
                if fit < self.batches:
                    break
        return steps

    def seconds_left(self, step: int, costs: "StepCosts", overhead: float = 0.0) -> float | None:
        """The time the steps left should take at ``costs`` (+ ``overhead`` seconds a step), or None
        before any length has been measured."""
        if not costs.measured:
            return None
        return sum(count * (costs.at(length) + overhead) for length, count in self.steps_left(step).items())


@dataclass(frozen=True)
class StepCosts:
    """Seconds per generator step at the lengths measured; other lengths are read off them: between
    two measured lengths by linear interpolation, outside in proportion to L (the unrolled LSTMs)."""

    measured: dict[int, float]

    def at(self, length: int) -> float:
        if length in self.measured:
            return self.measured[length]
        known = sorted(self.measured)
        if known[0] < length < known[-1]:
            return float(np.interp(length, known, [self.measured[L] for L in known]))
        nearest = known[0] if length < known[0] else known[-1]
        return self.measured[nearest] * length / nearest
