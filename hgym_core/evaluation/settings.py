"""The knobs of ``evaluate`` beyond the tables: which score families, how long the models train.

Defaults keep the full report for 8,916 + 8,916 patients x 60 months near a minute on a 2-core
CPU; the model-based families then train on at most ``max_patients`` patients per table (an
argument of ``evaluate``), and the report's notes say so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from hgym_core.errors import HGymError

GROUPS = ("marginals", "relationships", "temporal", "detection", "utility", "privacy")


@dataclass(frozen=True)
class EvaluationSettings:
    groups: tuple[str, ...] = GROUPS      # score families to compute
    lags: tuple[int, ...] = (1, 3, 6)     # autocorrelation lags (METRICS.md)
    detection_repeats: int = 3            # GRU discriminator repetitions (mean and spread)
    # Most GRU updates per repetition; training stops earlier once the loss stops falling.
    # TimeGAN's protocol allows 2,000; 200 keeps the full report near a minute on 2 CPU cores.
    detection_steps: int = 200
    row_detection_rows: int = 20_000      # patient-steps per table for the row-level classifier
    utility_target: str | None = None     # numeric variable TSTR predicts; None: the first numeric
    utility_steps: int = 200              # GRU updates per TSTR model

    def __post_init__(self) -> None:
        unknown = [g for g in self.groups if g not in GROUPS]
        if unknown or not self.groups:
            raise HGymError(f"Setting 'groups' must name some of {list(GROUPS)} (got {list(self.groups)}).")
        if not self.lags or any(int(k) != k or k < 1 for k in self.lags):
            raise HGymError(f"Setting 'lags' must be whole numbers of steps >= 1 (got {list(self.lags)}).")
        for name in ("detection_repeats", "detection_steps", "row_detection_rows", "utility_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise HGymError(f"Setting '{name}' must be a whole number >= 1 (got {value!r}).")

    def to_dict(self) -> dict:
        return asdict(self)
