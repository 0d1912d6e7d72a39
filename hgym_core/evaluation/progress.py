"""Progress of ``evaluate``: calls of ``progress(what runs now, fraction of the work done)``.

The fraction is a time estimate: each stage owns a share of the bar in proportion to the seconds
it took in ``benchmarks/evaluation.py`` (8,916 patients per table, holdout included, default
settings), so the bar moves roughly evenly with time. Detection, utility and privacy also say
which of their steps is running (the models' training is the slow part), sharing their stage's
part of the bar equally between those steps.
"""

from __future__ import annotations

from typing import Callable

Progress = Callable[[str, float], None]

# Seconds per stage in benchmarks/evaluation.py on a 2-core CPU (one torch thread), rounded.
WEIGHTS = {"tables": 1, "marginals": 1, "relationships": 2, "temporal": 1, "detection": 16, "utility": 8,
           "privacy": 4}
LABELS = {"tables": "reading the tables"}   # every other stage is named by its score family


def no_progress(description: str, fraction: float) -> None:
    """The ``progress`` of a family when nobody listens."""


class Stages:
    """Turns "stage X started" and "step k of stage X started" into overall (description, fraction) calls.

    Fractions never go down and the last call, from ``finish``, is ("done", 1.0).
    """

    def __init__(self, progress: Progress | None, stages: list[str]):
        self.progress = progress
        total = sum(WEIGHTS[stage] for stage in stages)
        self.spans, start = {}, 0.0
        for stage in stages:
            self.spans[stage] = (start, WEIGHTS[stage] / total)
            start += WEIGHTS[stage] / total
        self.reached = 0.0

    def start(self, stage: str) -> Progress:
        """Report that ``stage`` begins; returns the ``progress`` its steps report to (fraction of the stage)."""
        if self.progress is None:
            return no_progress
        label = LABELS.get(stage, stage)
        begin, width = self.spans[stage]
        self._report(label, begin)
        return lambda step, fraction: self._report(f"{label}: {step}", begin + width * fraction)

    def finish(self) -> None:
        if self.progress is not None:
            self._report("done", 1.0)

    def _report(self, description: str, fraction: float) -> None:
        self.reached = max(self.reached, min(1.0, fraction))
        self.progress(description, self.reached)


class Steps:
    """A family's steps, announced as each one starts: ``next("sequence classifier 2 of 3")``."""

    def __init__(self, progress: Progress, total: int):
        self.progress, self.total, self.done = progress, max(1, total), 0

    def next(self, description: str) -> None:
        self.progress(description, self.done / self.total)
        self.done += 1
