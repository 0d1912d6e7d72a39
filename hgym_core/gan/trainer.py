"""The Health Gym v1 training loop: curriculum over L, events, metrics.csv, stop, NaN stop, checkpoints.

    for epoch:                       (config.epochs in all, resumes included)
        for L in the curriculum:     (10, 20, ..., 60 for 60 months)
            for each real batch:     (patients shuffled by a seed derived from (seed, epoch, L))
                train_iteration      (n_critic critic updates + 1 generator update, wgan.py)
                -> TrainEvent to callbacks and metrics.csv

The position (epoch, stage, batch, step) is the whole truth about progress: a checkpoint saved
anywhere, mid-epoch included, resumes at the same L and batch with the same weights, optimizer
moments and random streams, so on the CPU a resumed run is bit-identical to an unbroken one.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from hgym_core.gan.random_state import capture_rng_states, restore_rng_states
from hgym_core.runs.folder import RunFolder
from hgym_core.runs.info import RunInfo, RunStatus
from hgym_core.gan.config import TrainConfig
from hgym_core.device import apply_cpu_threads, describe_device, resolve_device
from hgym_core.data.encoding import EncodedCohort, Encoder, Span, curriculum_batches, curriculum_lengths
from hgym_core.errors import HGymError, user_message
from hgym_core.gan.events import LOSS_COLUMNS, TRAINING_ENDS, TrainEvent
from hgym_core.gan.memorisation import GuardedValidator, validator_for
from hgym_core.gan.models import build_critic, build_generator
from hgym_core.gan.privacy import PrivateCritic
from hgym_core.gan.spread import start_at_spread
from hgym_core.gan.values import own_change_rates
from hgym_core.gan.wgan import Padding, real_correlation, train_iteration

CHECKPOINT_FORMAT = 1
Callback = Callable[[TrainEvent], None]
Log = Callable[[str], None]


@dataclass
class Hooks:
    """What a caller hears and controls while a run trains: every step's event, a stop flag that
    ends training before the next step (with a checkpoint), and the log's lines."""

    callbacks: Sequence[Callback] = ()
    stop_event: threading.Event = field(default_factory=threading.Event)
    log: Log = lambda message: None


class TrainingDiverged(HGymError):
    """A loss became NaN or infinite; the run is marked failed and its last good checkpoint kept."""


@dataclass
class Position:
    """Where training is: ``epoch`` epochs and, within the next one, ``stage`` curriculum lengths
    and ``batch`` batches of the current length are done; ``step`` generator steps in all."""

    epoch: int = 0
    stage: int = 0
    batch: int = 0
    step: int = 0


def select_patients(cohort: EncodedCohort, max_patients: int | None, seed: int) -> EncodedCohort:
    """A seeded random subset of ``max_patients`` patients (the cohort itself when None or larger)."""
    n_patients = cohort.n_patients
    if max_patients is None or max_patients >= n_patients:
        return cohort
    chosen = torch.randperm(n_patients, generator=torch.Generator().manual_seed(seed))[:max_patients].sort().values
    return cohort.subset(chosen)


@torch.no_grad()
def update_average(average: torch.nn.Module, generator: torch.nn.Module, decay: float, updates: int) -> None:
    """average <- d · average + (1 − d) · generator, parameter by parameter, after ``updates`` updates.

    d = min(decay, (1 + updates) / (10 + updates)): early on the average follows the generator
    closely (it would otherwise hold on to the random start for hundreds of steps), later it
    averages over about 1 / (1 − decay) steps."""
    d = min(decay, (1 + updates) / (10 + updates))
    for kept, current in zip(average.parameters(), generator.parameters()):
        kept.lerp_(current, 1.0 - d)


def feature_means(cohort: EncodedCohort, static_spans: Sequence[Span] = ()) -> torch.Tensor:
    """Each encoded feature's mean over the rows patients have (padding left out); a static span's
    over patients (a patient of 500 rows is one patient of 500 rows, not 500 of them)."""
    means = cohort.rows.cpu().double().mean(dim=0)
    if static_spans:
        index = torch.tensor([i for span in static_spans for i in range(span.start, span.end)])
        means[index] = cohort.static_rows(torch.arange(cohort.n_patients)).cpu().double()[:, index].mean(dim=0)
    return means.to(cohort.rows.dtype)


def batch_seed(seed: int, epoch: int, length: int) -> int:
    """The shuffle seed of one (epoch, L): a pure function of the position, so resume needs no state."""
    return int(np.random.SeedSequence([seed, epoch, length]).generate_state(1)[0])


class Trainer:
    """Owns the generator, critic, both Adam optimizers and the noise stream of one run."""

    def __init__(self, encoder: Encoder, cohort: EncodedCohort, config: TrainConfig, run: RunFolder | None = None,
                 training: pd.DataFrame | None = None, holdout: pd.DataFrame | None = None):
        """``training`` and ``holdout``: the run's training and holdout patients as tables, for the
        memorisation guard (``config.memorisation_guard``; gan/memorisation.py)."""
        self.config = config.validate()
        self.encoder = encoder
        self.run = run
        self.device = resolve_device(config.device)
        apply_cpu_threads(config.cpu_threads)
        self.curriculum = list(config.curriculum or curriculum_lengths(encoder.max_length))
        longest = cohort.max_length
        if max(self.curriculum) > longest:
            raise HGymError(f"Setting 'curriculum' asks for length {max(self.curriculum)} but the longest patient has "
                            f"{longest} time steps; use lengths up to {longest}.")
        self.cohort = select_patients(cohort, config.max_patients, config.seed)
        self.cohort = self.cohort.to(self.device)
        n_patients = self.cohort.n_patients
        self.batches_per_stage = math.ceil(n_patients / config.batch_size)  # curriculum_batches keeps the remainder
        self.steps_per_epoch = self.batches_per_stage * len(self.curriculum)

        # Initial weights come from the seed without disturbing the process's global random state
        # (the dashboard's other threads share it).
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.generator = build_generator(encoder.spans, config, encoder).to(self.device)
            self.critic = build_critic(encoder.spans, config, longest).to(self.device)
        if config.marginal_start:
            means = feature_means(self.cohort, encoder.static_spans)
            if config.held_in_generator:
                means = own_change_rates(means, encoder, self.cohort)
            self.generator.start_at_marginals(means.to(self.device))
            if self.generator.label_hold is not None:
                self.generator.start_label_gates(self.cohort)
        if config.spread_start:
            start_at_spread(self.generator, encoder, self.cohort, config.seed)
        # The averaged generator, when asked for: updated after every generator step, sampled from.
        self.average = None if config.ema_decay is None else copy.deepcopy(self.generator).requires_grad_(False)
        self.padding = Padding.of(encoder.spans) if config.present_rows_only else None
        # Privacy (docs/privacy.md): the guard rides on validation; DP-SGD replaces the critic updates.
        self.validator, self._guard_note = validator_for(encoder, self.cohort, config, training, holdout)
        self.private = None if config.dp_epsilon is None else PrivateCritic(
            config, n_patients, self.steps_per_epoch, self.device)
        self.g_opt = torch.optim.Adam(self.generator.parameters(), lr=config.lr, betas=config.betas)
        self.d_opt = torch.optim.Adam(self.critic.parameters(), lr=config.lr, betas=config.betas)
        self.noise = torch.Generator(device=self.device).manual_seed(config.seed)
        self.position = Position()
        self.seconds = 0.0   # wall time spent training, resumes included (the time budget counts it; see _tick)
        self.last_metrics: dict | None = None
        self._saved_step: int | None = None  # the step of the checkpoint this trainer last wrote
        self._start_clock()
        self._real_corr: dict[int, torch.Tensor] = {}

    # --- state ---------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything resume needs, as tensors and plain containers (weights_only-loadable)."""
        return {
            "format": CHECKPOINT_FORMAT,
            "generator": self.generator.state_dict(),
            "average_generator": None if self.average is None else self.average.state_dict(),
            "critic": self.critic.state_dict(),
            "g_opt": self.g_opt.state_dict(),
            "d_opt": self.d_opt.state_dict(),
            "position": asdict(self.position),
            "seconds": self.seconds,
            "last_metrics": self.last_metrics,
            "rng": capture_rng_states(self.noise),
            "validation": None if self.validator is None else self.validator.state_dict(),
            "privacy": None if self.private is None else self.private.state_dict(),
        }

    def load_state_dict(self, state: dict, log: Log | None = None) -> None:
        if state.get("format") != CHECKPOINT_FORMAT:
            raise HGymError(f"The checkpoint has format {state.get('format')!r}; this version reads format "
                            f"{CHECKPOINT_FORMAT}. Train a new run.")
        self.generator.load_state_dict(state["generator"])
        if self.average is not None:
            self.average.load_state_dict(state.get("average_generator") or state["generator"])
        self.critic.load_state_dict(state["critic"])
        self.g_opt.load_state_dict(state["g_opt"])
        self.d_opt.load_state_dict(state["d_opt"])
        self.position = Position(**state["position"])
        self.seconds = float(state.get("seconds", 0.0))
        self.last_metrics = state.get("last_metrics")
        if self.validator is not None and state.get("validation"):
            self.validator.load_state_dict(state["validation"])
        if self.private is not None:
            if not state.get("privacy"):
                raise HGymError("This differentially private run's checkpoint has no privacy accountant; its "
                                "spent epsilon is unknown, so it cannot continue: start a new run.")
            self.private.load_state_dict(state["privacy"], log)
        if not restore_rng_states(state["rng"], self.noise):
            # A run moved between CPU and CUDA cannot reuse the other device's noise stream.
            self.noise.manual_seed(batch_seed(self.config.seed, self.position.epoch, self.position.step))
            if log:
                log(f"noise stream reseeded: the run moved to {self.device.type}")

    @property
    def steps_target(self) -> int:
        return self.config.epochs * self.steps_per_epoch

    @property
    def finished(self) -> bool:
        return self.end_reason() is not None

    def end_reason(self) -> str | None:
        """Why training is over: every epoch trained, the time budget spent, or a plateau; None while not."""
        budget = self.config.time_budget
        if self.position.epoch >= self.config.epochs:
            return f"all {self.config.epochs} epochs are trained"
        if budget is not None and self.seconds >= budget:
            return f"its time budget of {budget:,.0f} s is spent"
        if self.private is not None and self.private.spent(self.config.n_critic):
            return self.private.end_words()
        if self.validator is not None and self.validator.should_stop:
            return f"its validation loss stopped improving (best at step {self.validator.best_step})"
        return None

    def how_to_extend(self) -> str:
        if self.private is not None and self.private.spent(self.config.n_critic):
            return "a private run cannot train beyond its epsilon: start a new run with a larger dp_epsilon"
        return ("ask for more epochs in all, or a larger time_budget (a longer --time-budget), or a larger early_stop "
                "patience, to continue it")

    def sampling_generator(self) -> torch.nn.Module:
        """The generator to sample from: the best weights by validation, else the averaged generator,
        else the live one (see ``sampling_weights`` in synthesizer.py, which reads the same order)."""
        best = None if self.validator is None else self.validator.best_generator
        if best is None:
            return self.average or self.generator
        generator = copy.deepcopy(self.generator)
        generator.load_state_dict(best)
        return generator

    def device_label(self) -> str:
        return describe_device(self.device)

    # --- training ------------------------------------------------------------------------------
    def train(self, hooks: Hooks | None = None) -> str:
        """Train until the run ends ("finished": every epoch, the time budget, or a plateau) or the
        hooks' stop event is set ("stopped").

        Raises TrainingDiverged on a NaN/inf loss and re-raises anything else, in both cases after
        marking the run failed; the checkpoint on disk is then the last good one.
        """
        hooks = hooks or Hooks()
        self._mark_running()
        self._start_clock()
        if self.private is not None:
            hooks.log(self.private.plan_words())
        try:
            status = self._loop(list(hooks.callbacks), hooks.stop_event, hooks.log)
            if status == "finished" and self.position.epoch >= self.config.epochs:
                hooks.log(f"{TRAINING_ENDS}{self.end_reason()} after {self.position.step:,} steps")
            self._save(status, hooks.log)
        except Exception as problem:
            self._mark_failed(problem)
            raise
        return status

    def _loop(self, callbacks: list[Callback], stop_event: threading.Event, log: Log) -> str:
        config, position = self.config, self.position
        while position.epoch < config.epochs:
            for stage in range(position.stage, len(self.curriculum)):
                length = self.curriculum[stage]
                real_corr = None if self.private is not None else self._real_correlation(length)
                batches = curriculum_batches(self.cohort, length, config.batch_size,
                                             batch_seed(config.seed, position.epoch, length))
                for real in itertools.islice(batches, position.batch, None):
                    if stop_event.is_set():
                        return "stopped"
                    if self._out_of_time(log) or self._stopped_early(log) or self._privacy_spent(log):
                        return "finished"
                    started = time.perf_counter()
                    if self.private is not None:   # DP-SGD: Poisson batches of its own (gan/privacy.py)
                        metrics = self.private.iteration(self.generator, self.critic, self.g_opt, self.d_opt,
                                                         self.cohort, length, self.noise, self.padding)
                    else:
                        metrics = train_iteration(self.generator, self.critic, self.g_opt, self.d_opt,
                                                  real, real_corr, config, self.noise, self.padding)
                    seconds = time.perf_counter() - started
                    event = TrainEvent(epoch=position.epoch + 1, length=length, step=position.step + 1,
                                       d_loss=metrics.d_loss, gp=metrics.gp, d_real=metrics.d_real,
                                       d_fake=metrics.d_fake, w=metrics.w, g_loss=metrics.g_loss, corr=metrics.corr,
                                       seconds=seconds, epochs_target=config.epochs, steps_target=self.steps_target,
                                       budget_left=None if config.time_budget is None else
                                       max(0.0, config.time_budget - self.seconds - seconds))
                    self._check_finite(event)
                    position.batch += 1
                    position.step += 1
                    self.last_metrics = {name: getattr(event, name) for name in LOSS_COLUMNS}
                    if self.average is not None:
                        update_average(self.average, self.generator, config.ema_decay, position.step)
                    if self.validator is not None and self.validator.due(position.step):
                        self._validate(log)
                    event = dataclasses.replace(event, privacy=self._privacy_live())
                    self.seconds += time.perf_counter() - started
                    if self.run is not None:
                        self.run.append_metrics(event.as_row())
                    for callback in callbacks:
                        callback(event)
                position.stage, position.batch = stage + 1, 0
            position.epoch, position.stage = position.epoch + 1, 0
            if self._checkpoint_due():
                self._save("running", log)
        return "finished"

    # --- the clock and the checkpoints it spaces out (kept apart from the loop above) -------------
    def _start_clock(self) -> None:
        """From now on ``seconds`` runs with the wall clock: the time budget counts everything the
        loop does (batches, steps, metrics.csv, callbacks, checkpoints), so a run ends on time."""
        self._clock = (time.perf_counter(), self.seconds)
        self._saved_seconds = self.seconds   # the training time of the last checkpoint (or of the start)

    def _tick(self) -> float:
        """``seconds`` brought up to the wall clock (never back: the loop adds its steps' time too)."""
        started, before = self._clock
        self.seconds = max(self.seconds, before + time.perf_counter() - started)
        return self.seconds

    def _checkpoint_due(self) -> bool:
        """After every ``checkpoint_every`` epochs but the last, once ``checkpoint_seconds`` of training
        have passed since the last checkpoint: a run of many short epochs saves about once a minute,
        not after each (stop, the end and a failure save anyway)."""
        config, epoch = self.config, self.position.epoch
        return (epoch % config.checkpoint_every == 0 and epoch < config.epochs
                and self._tick() - self._saved_seconds >= config.checkpoint_seconds)

    def _out_of_time(self, log: Log) -> bool:
        budget = self.config.time_budget
        if budget is None or self._tick() < budget:
            return False
        log(f"{TRAINING_ENDS}{self.end_reason()} after {self.position.step:,} steps ({self._position_words()})")
        return True

    def _stopped_early(self, log: Log) -> bool:
        if self.validator is None or not self.validator.should_stop:
            return False
        log(f"{TRAINING_ENDS}its validation loss has not improved for {self.validator.since_best} validations "
            f"(best {self.validator.best_loss:.4f} at step {self.validator.best_step:,}) after {self.position.step:,} "
            f"steps ({self._position_words()})")
        return True

    def _privacy_spent(self, log: Log) -> bool:
        if self.private is None or not self.private.spent(self.config.n_critic):
            return False
        log(f"{self.private.end_words()}; training ends here")
        return True

    def _privacy_live(self) -> dict | None:
        """The privacy values of the latest step for its TrainEvent: epsilon spent, the guard's check."""
        live = {} if self.private is None else self.private.live()
        if isinstance(self.validator, GuardedValidator):
            live |= self.validator.live()
        return live or None

    def privacy_record(self) -> dict:
        """run.json's "privacy": the memorisation guard and differential privacy, each on or off and why."""
        from hgym_core.data.public_encoder import public_words

        guard = self.validator.record() if isinstance(self.validator, GuardedValidator) else \
            self._guard_note or {"on": False, "why": "not asked for (memorisation_guard off)"}
        dp = {"on": False} if self.private is None else self.private.record(public_words(self.encoder.schema,
                                                                                         self.config))
        return {"memorisation_guard": guard, "differential_privacy": dp}

    def _validate(self, log: Log) -> None:
        improved = self.validator.validate(self.average or self.generator, self.position.step)
        if isinstance(self.validator, GuardedValidator):
            log(self.validator.describe_last())
        elif improved:
            log(f"validation loss {self.validator.last_loss:.4f} at step {self.position.step}: the best so far, "
                "kept for sampling")

    def _real_correlation(self, length: int) -> torch.Tensor:
        """The real data's correlation matrix over every patient's first L steps, once per L."""
        if length not in self._real_corr:
            self._real_corr[length] = real_correlation(self.cohort, length, self.padding)
        return self._real_corr[length]

    def _check_finite(self, event: TrainEvent) -> None:
        bad = [name for name in LOSS_COLUMNS if not math.isfinite(getattr(event, name))]
        if bad:
            saved = self._checkpoint_step()
            kept = "no checkpoint had been saved yet" if saved is None else \
                f"the last good checkpoint (step {saved}) is kept"
            raise TrainingDiverged(
                f"Training diverged: {', '.join(bad)} became {getattr(event, bad[0])} at epoch {event.epoch}, "
                f"L={event.length}, step {event.step}; {kept}. Start a new run with a lower learning rate ('lr') "
                f"or a larger 'lambda_gp'.")

    # --- the run folder: run.json through RunInfo, its one writer -------------------------------
    def _checkpoint_step(self) -> int | None:
        if self.run is None or not self.run.exists():
            return None
        return RunInfo.read(self.run).checkpoint_step

    def _write_info(self, **changes) -> None:
        RunInfo.update(self.run, **changes, epochs_target=self.config.epochs, config=self.config.to_dict(),
                       device=self.device_label(), privacy=self.privacy_record())

    def _mark_running(self) -> None:
        if self.run is None:
            return
        # Rows logged after the checkpoint being resumed belong to steps that will be redone.
        self.run.truncate_metrics(self.position.step)
        self._write_info(status=RunStatus.RUNNING, error=None)

    def _save(self, status: str, log: Log) -> None:
        """Checkpoint first, then run.json: run.json never claims progress the checkpoint lacks.
        A position already saved (a stop right after an epoch's checkpoint) only updates run.json."""
        if self.run is None:
            return
        if self._saved_step != self.position.step:
            self._tick()   # the checkpoint holds the time trained until now
            self.run.save_checkpoint(self.state_dict())
            self._saved_step, self._saved_seconds = self.position.step, self.seconds
            log(f"checkpoint saved at step {self.position.step:,} ({self._position_words()})")
        self._write_info(status=status, epochs_done=self.position.epoch, checkpoint_step=self.position.step,
                         last_metrics=self.last_metrics)

    def _position_words(self) -> str:
        """What a checkpoint holds, as a user counts: 'epoch 7, 2 of 6 lengths done' mid-epoch
        (epochs count from 1, like the progress line), 'epoch 7 done' at its end."""
        position, stages = self.position, len(self.curriculum)
        if position.stage == 0 and position.batch == 0:
            return f"epoch {position.epoch:,} done" if position.epoch else "nothing trained yet"
        batches = f"{position.batch} of {self.batches_per_stage} batches at L={self.curriculum[position.stage]}" \
            if position.batch else ""
        if position.stage == 0:   # one length, or the first one: no "0 of 1 lengths done"
            return f"epoch {position.epoch + 1:,}, {batches}"
        words = f"epoch {position.epoch + 1:,}, {position.stage} of {stages} length{'s' if stages > 1 else ''} done"
        return words + (f" and {batches}" if batches else "")

    def _mark_failed(self, problem: Exception) -> None:
        if self.run is None:
            return
        self._write_info(status=RunStatus.FAILED, error=user_message(problem))
