"""The memorisation guard: never keep for sampling a generator that sits closer to its training
patients than to patients it never saw.

At each validation (``validation_every`` steps) the guard takes the validation's own sample of
synthetic patients (``VALIDATION_PATIENTS``, 300, or the training patients when fewer) and compares them with ``m`` training and ``m`` holdout patients of the run (``m`` = the
smaller side, at most ``GUARD_REFERENCE``; a seeded sample of each, fixed for the run), with the
distance of ``evaluation/privacy.py`` (METRICS.md, "Privacy"):

- DCR share: the share of synthetic patients whose nearest reference patient is a training one
  (ties count half); about 0.5 when the generator does not memorise.
- The test: a one-sided permutation test of that share. Under "no memorisation" the generator has
  no reason to sit nearer the m training than the m holdout patients, so their labels are
  exchangeable: shuffling the 2m labels ``GUARD_PERMUTATIONS`` times (a stream seeded by the run's
  seed and the step) gives the share's null distribution, the noise of a small holdout included
  (a binomial test on the synthetic patients would ignore it: it treats the reference patients as
  fixed and, with a few dozen of them, raises false alarms). p = (1 + #{shuffled share >=
  observed}) / (1 + permutations); the generator memorises when p < ``GUARD_LEVEL`` (0.05).

``GuardedValidator`` is the trainer's ``Validator`` with the guard: the best validation score is
kept only among generators that pass; if none has passed yet, the one with the lowest DCR share is
kept (and the record says so). Sampling reads the kept weights as before (``best_generator``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from hgym_core.data.encoding import EncodedCohort, Encoder
from hgym_core.evaluation._tables import tabulate
from hgym_core.evaluation.privacy import DistanceSpace
from hgym_core.gan.sampling import sample_table
from hgym_core.gan.validation import VALIDATION_PATIENTS, Validator, validation_loss

GUARD_LEVEL = 0.05
GUARD_PERMUTATIONS = 199       # p-values in steps of 0.005
GUARD_REFERENCE = 300          # training and holdout patients compared, at most, each
GUARD_STREAM = 0x6775617264    # "guard": the samples' and shuffles' own seeds, apart from training's
TEST_WORDS = (f"one-sided permutation test of the DCR share ({GUARD_PERMUTATIONS} shuffles of the training/"
              f"holdout labels), memorisation when p < {GUARD_LEVEL}")


def dcr_share(to_training: np.ndarray, to_holdout: np.ndarray) -> float:
    """Share of synthetic patients closer to a training than to a holdout patient (ties half)."""
    return float(np.mean((to_training < to_holdout) + 0.5 * (to_training == to_holdout)))


def permutation_p_value(distances: np.ndarray, m: int, rng: np.random.Generator,
                        permutations: int = GUARD_PERMUTATIONS) -> tuple[float, float]:
    """(DCR share, one-sided p-value) for distances [synthetic, 2m] whose first m columns are the
    training patients and the last m the holdout ones (module docstring).

    A synthetic patient is closer to training than to holdout exactly when every reference patient
    at its smallest distance is a training one (a tie when both kinds are), so each shuffle needs
    only the labels of those nearest patients: one matrix product for all shuffles."""
    nearest = distances <= distances.min(axis=1, keepdims=True)          # [n, 2m]: the closest patients
    sizes = nearest.sum(axis=1)

    def shares(labels: np.ndarray) -> np.ndarray:                         # labels [k, 2m]: 1 = training
        training = labels @ nearest.T                                    # [k, n]
        return np.mean(np.where(training == sizes, 1.0, np.where(training == 0, 0.0, 0.5)), axis=1)

    labels = np.zeros((1, distances.shape[1]))
    labels[0, :m] = 1.0
    observed = float(shares(labels)[0])
    shuffled = np.stack([rng.permutation(labels[0]) for _ in range(permutations)])
    above = int(np.sum(shares(shuffled) >= observed - 1e-12))
    return observed, (1 + above) / (1 + permutations)


@dataclass(frozen=True)
class GuardCheck:
    step: int
    share: float
    p_value: float
    synthetic: int
    reference: int   # training patients compared, and as many holdout patients

    @property
    def memorises(self) -> bool:
        return self.p_value < GUARD_LEVEL


def _patients(table: pd.DataFrame, id_column: str, n: int, rng: np.random.Generator) -> pd.DataFrame:
    ids = table[id_column].drop_duplicates().to_numpy()
    chosen = ids if len(ids) <= n else ids[np.sort(rng.choice(len(ids), size=n, replace=False))]
    return table[table[id_column].isin(chosen)]


class MemorisationGuard:
    """The DCR share of a generator's patients against the run's training and holdout patients,
    with its permutation test (module docstring)."""

    def __init__(self, encoder: Encoder, training: pd.DataFrame, holdout: pd.DataFrame, seed: int):
        self.encoder, self.schema, self.seed = encoder, encoder.schema, seed
        id_column = self.schema.id_column
        self.reference = min(training[id_column].nunique(), holdout[id_column].nunique(), GUARD_REFERENCE)
        rng = np.random.default_rng([seed, GUARD_STREAM])
        self.training = _patients(training, id_column, self.reference, rng)
        self.holdout = _patients(holdout, id_column, self.reference, rng)

    def check_table(self, synthetic: pd.DataFrame, step: int) -> GuardCheck:
        cohorts = tabulate({"real": self.training, "holdout": self.holdout, "synthetic": synthetic}, self.schema)
        space = DistanceSpace(cohorts["real"], torch.device("cpu"))
        distances = np.hstack([space.distances(cohorts["synthetic"], cohorts["real"]),
                               space.distances(cohorts["synthetic"], cohorts["holdout"])])
        rng = np.random.default_rng([self.seed, GUARD_STREAM, step])
        share, p_value = permutation_p_value(distances, self.reference, rng)
        return GuardCheck(step, share, p_value, cohorts["synthetic"].n_patients, self.reference)


class GuardedValidator(Validator):
    """``Validator`` whose best generator is the best of those the guard lets through."""

    def __init__(self, encoder: Encoder, cohort: EncodedCohort, seed: int, every: int, patience: int | None,
                 guard: MemorisationGuard):
        super().__init__(encoder, cohort, seed, every, patience)
        self.guard = guard
        self.last: GuardCheck | None = None
        self.kept: GuardCheck | None = None       # the guard's check of the generator kept for sampling
        self.kept_passed = False                  # False: none has passed yet; the least memorising is kept
        self.flagged = 0                          # validations that showed memorisation

    def validate(self, generator: nn.Module, step: int) -> bool:
        """True when this generator is kept for sampling: it shows no memorisation and has the best
        validation loss of those that show none (or nothing has passed, and it memorises least)."""
        device = next(generator.parameters()).device
        noise = torch.Generator(device=device).manual_seed(
            int(np.random.SeedSequence([self.seed, step]).generate_state(1)[0]))
        synthetic = sample_table(generator, self.encoder, self.n_patients, self.encoder.max_length, noise)
        self.last_loss = validation_loss(self.real, synthetic, self.encoder.schema)
        self.last = self.guard.check_table(synthetic, step)   # the validation's own sample
        if self.last.memorises:
            self.flagged += 1
            keep = not self.kept_passed and (self.kept is None or self.last.share < self.kept.share)
        else:
            keep = not self.kept_passed or self.last_loss < self.best_loss
        if keep:
            passed = not self.last.memorises
            if passed:
                self.best_loss, self.best_step, self.since_best = self.last_loss, step, 0
            self.kept, self.kept_passed = self.last, passed
            self.best_step = step
            self.best_generator = {name: value.detach().cpu().clone() for name, value in generator.state_dict().items()}
        if not (keep and self.kept_passed):
            self.since_best += 1
        return keep

    def describe_last(self) -> str:
        """The log line of the latest validation: its loss, DCR share and test, and what was kept."""
        last = self.last
        verdict = "memorisation" if last.memorises else "no memorisation"
        words = (f"validation at step {last.step}: loss {self.last_loss:.4f}, DCR share {last.share:.2f} "
                 f"(p = {last.p_value:.3f}: {verdict})")
        if self.best_step == last.step:
            return words + (": the best so far, kept for sampling" if self.kept_passed else
                            ": no generator has passed yet; kept as the least memorising")
        kept = "a generator without memorisation" if self.kept_passed else "the least memorising generator"
        return words + f"; {kept} (step {self.best_step}) stays kept"

    def record(self) -> dict:
        """run.json's account of the guard: the test, the latest check, what was kept and why."""
        kept, last = self.kept, self.last
        if kept is None:
            why = "no validation yet"
        elif self.kept_passed:
            why = (f"the best validation loss among the generators that showed no memorisation "
                   f"(DCR share {kept.share:.3f}, p = {kept.p_value:.3f})")
        else:
            why = (f"every validated generator showed memorisation; the one with the lowest DCR share "
                   f"({kept.share:.3f}, p = {kept.p_value:.3f}) is kept")
        return {"on": True, "test": TEST_WORDS, "level": GUARD_LEVEL, "permutations": GUARD_PERMUTATIONS,
                "synthetic_patients": self.n_patients, "reference_patients": self.guard.reference,
                "last": None if last is None else asdict(last), "kept_step": None if kept is None else kept.step,
                "kept_share": None if kept is None else kept.share, "kept_passed": self.kept_passed,
                "flagged_validations": self.flagged, "why": why}

    def live(self) -> dict:
        """What the progress line and the Train page show of the guard (plain floats)."""
        if self.last is None:
            return {}
        return {"dcr_share": self.last.share, "dcr_p_value": self.last.p_value,
                "memorises": bool(self.last.memorises), "kept_step": self.best_step}

    def state_dict(self) -> dict:
        state = super().state_dict()
        state["guard"] = {"last": None if self.last is None else asdict(self.last),
                          "kept": None if self.kept is None else asdict(self.kept),
                          "kept_passed": self.kept_passed, "flagged": self.flagged}
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        guard = state.get("guard") or {}
        self.last = GuardCheck(**guard["last"]) if guard.get("last") else None
        self.kept = GuardCheck(**guard["kept"]) if guard.get("kept") else None
        self.kept_passed = bool(guard.get("kept_passed", False))
        self.flagged = int(guard.get("flagged", 0))


def validator_for(encoder: Encoder, cohort: EncodedCohort, config, training: pd.DataFrame | None,
                  holdout: pd.DataFrame | None) -> tuple[Validator | None, dict | None]:
    """The trainer's validator for ``config`` (None without validation), guarded when the config asks
    for the guard and the run has a holdout; and, when the guard was asked for but cannot run,
    run.json's note saying why."""
    if config.validation_every is None:
        why = ("differential privacy is on: validation would read the training patients outside its accounted "
               "steps" if config.dp_epsilon is not None else "validation is off (validation_every none), so no "
               "generator is chosen: the last (or averaged) one is sampled, unchecked")
        return None, ({"on": False, "why": why} if config.memorisation_guard else None)
    if config.memorisation_guard and (holdout is None or training is None or not len(holdout)):
        return (Validator(encoder, cohort, config.seed, config.validation_every, config.early_stop),
                {"on": False, "why": "the run keeps no holdout (holdout 0), so nothing tells memorisation "
                                     "from ordinary closeness; the guard is off"})
    if not config.memorisation_guard:
        return Validator(encoder, cohort, config.seed, config.validation_every, config.early_stop), None
    trained = training[training[encoder.schema.id_column].isin(cohort.patient_ids)]
    guard = MemorisationGuard(encoder, trained, holdout, config.seed)
    return GuardedValidator(encoder, cohort, config.seed, config.validation_every, config.early_stop, guard), None

