"""Background training: a job is one thread; a registry allows one running job per process.

The worker thread never touches a UI. It records plain floats under a lock; readers (a
Streamlit fragment polling every second, the command line's progress line) call
``snapshot()`` and get copies they can use without locking.

A job runs any function called as ``train(callbacks=[...], stop_event=Event, log=callable)``
that returns the final status ("finished" or "stopped") — ``hgym_core.runs.tasks`` has the two
real ones. The thread only relays when the function runs elsewhere: the dashboard wraps its
task with ``training_process.in_subprocess`` so training never holds the server's GIL::

    registry.start("hiv-1", in_subprocess(partial(fit_run, schema, config, df, "models/hiv-1")))

(``runs/service.py`` does this for the command line and the dashboard alike.)

The ETA weights the steps left at each curriculum length by that length's measured step time
(``schedule.TrainingSchedule``), when the job knows the run's schedule; otherwise it divides the
steps left by the recent speed. With a time budget (the auto preset's) a run ends when the budget
is spent, long before its epochs: the ETA is then the budget left, counted down by the clock
between steps, plus the final checkpoint, and ``JobSnapshot.progress`` is the budget's share spent.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Mapping, Sequence

from hgym_core.errors import HGymError, user_message
from hgym_core.gan.events import METRIC_COLUMNS, TRAINING_ENDS, TrainEvent
from hgym_core.runs.schedule import StepCosts, TrainingSchedule

TrainFunction = Callable[..., "str | None"]
ACTIVE = ("running", "stopping")
RATE_WINDOW = 50  # steps per second over the last 50 steps: current speed, not the run's average
COST_WINDOW = 20  # a length's step time: the mean of its last 20 steps
# Saving the last checkpoint and run.json once the budget is spent: well under a second for these
# models; a checkpoint saved during the run measures it (the time between its step and its log line).
FINAL_SAVE_SECONDS = 1.0


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of a job's progress; every field is a plain value the caller owns."""

    name: str
    status: str  # created, running, stopping, stopped, finished, failed
    epoch: int
    epochs_target: int
    length: int
    step: int
    steps_target: int
    steps_per_second: float | None
    eta_seconds: float | None
    elapsed_seconds: float
    history: dict[str, list[float]]  # METRIC_COLUMNS -> one value per step from ``history_from`` on
    last: dict | None  # the latest step's metrics row (METRIC_COLUMNS), None before the first step
    log: list[str]
    error: str | None
    time_budget: float | None = None    # seconds, resumes included; None without a budget
    budget_left: float | None = None    # seconds of the budget left now (counted down between steps)
    ended_by: str | None = None         # why training ended, in the trainer's words ("its time budget ...")
    privacy: dict | None = None         # the latest step's privacy values (TrainEvent.privacy): epsilon spent, DCR share

    @property
    def starting(self) -> bool:
        """Running, before the first step: the table is read, encoded and the models built."""
        return self.status in ACTIVE and self.last is None

    @property
    def progress(self) -> float:
        """The share of the run done, 0 to 1: of its steps, or of its time budget when that is further
        along (a budget ends a run long before its epochs); 1 once it finished."""
        if self.status == "finished":
            return 1.0
        shares = [self.step / self.steps_target] if self.steps_target else []
        if self.time_budget and self.budget_left is not None:
            shares.append(1.0 - self.budget_left / self.time_budget)
        return min(1.0, max(0.0, *shares)) if shares else 0.0


class TrainingJob:
    """One training function running in a daemon thread, with stop, status and progress."""

    def __init__(self, name: str, train: TrainFunction, history: Mapping[str, Sequence[float]] | None = None,
                 schedule: TrainingSchedule | None = None, folder: str | os.PathLike | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.name = name
        self.folder = Path(folder).resolve() if folder is not None else None   # the run folder it trains
        self._train = train
        self._schedule = schedule
        self._clock = clock
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        # Set as the worker's last act. Waiting on it, not on Thread.join, keeps Ctrl-C safe: in
        # Python 3.11 a KeyboardInterrupt inside Thread.join can leave is_alive() False while the
        # thread still runs, and exiting then aborts the process mid-step.
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._status = "created"
        self._error: str | None = None
        self.traceback: str | None = None  # for developers; users see ``error``
        self._history: dict[str, list[float]] = {column: list((history or {}).get(column, ())) for column in METRIC_COLUMNS}
        self._log: list[str] = []
        self._last: TrainEvent | None = None
        self._recent: deque[tuple[float, int]] = deque(maxlen=RATE_WINDOW)
        self._step_seconds: dict[int, deque[float]] = {}   # per length L: the trainer's own step times
        self._overhead: deque[float] = deque(maxlen=RATE_WINDOW)   # wall time between steps beyond them
        self._started_at: float | None = None
        self._ended_at: float | None = None
        self._last_at: float | None = None       # when the last step's event arrived
        self._save_seconds = FINAL_SAVE_SECONDS  # how long a checkpoint takes to save
        self._ended_by: str | None = None

    # control
    def start(self) -> "TrainingJob":
        with self._lock:
            if self._thread is not None:
                raise HGymError(f"Job '{self.name}' was already started; start a new job to train again.")
            self._status = "running"
            self._started_at = self._clock()
            self._thread = threading.Thread(target=self._run, name=f"hgym-train-{self.name}", daemon=True)
        self._note("started")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the trainer to stop; it does so before its next step and saves a checkpoint. Returns at once."""
        with self._lock:
            if self._status not in ACTIVE or self._stop_event.is_set():
                return
            self._stop_event.set()
            self._status = "stopping"
        self._note("stop requested")

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the training function to end; True when it has."""
        if self._thread is not None:
            self._done.wait(timeout)
        return not self.is_active()

    @property
    def started_at(self) -> float | None:
        return self._started_at

    def is_active(self) -> bool:
        return self._thread is not None and not self._done.is_set()

    @property
    def status(self) -> str:
        with self._lock:
            return self._status

    @property
    def error(self) -> str | None:
        with self._lock:
            return self._error

    def snapshot(self, history_from: int = 0) -> JobSnapshot:
        """A copy of the progress; ``history_from`` skips history entries the caller already holds."""
        with self._lock:
            last = self._last
            rate = self._rate()
            steps_target = last.steps_target if last else 0
            now = self._ended_at or self._clock()
            eta = self._eta(last, rate, now)
            elapsed = (now - self._started_at) if self._started_at else 0.0
            return JobSnapshot(
                name=self.name, status=self._status,
                epoch=last.epoch if last else 0, epochs_target=last.epochs_target if last else 0,
                length=last.length if last else 0, step=last.step if last else 0, steps_target=steps_target,
                steps_per_second=rate, eta_seconds=eta if self._status in ACTIVE else None,
                elapsed_seconds=elapsed,
                history={column: values[history_from:] for column, values in self._history.items()},
                last=last.as_row() if last else None, log=list(self._log), error=self._error,
                time_budget=self._schedule.time_budget if self._schedule else None,
                budget_left=self._budget_left(last, now), ended_by=self._ended_by,
                privacy=dict(last.privacy) if last and last.privacy else None,
            )

    # what the worker thread calls
    def _record(self, event: TrainEvent) -> None:
        with self._lock:
            now = self._clock()
            for column, value in event.as_row().items():
                self._history[column].append(value)
            if self._recent and self._last is not None and event.step == self._last.step + 1:
                self._overhead.append(max(0.0, now - self._recent[-1][0] - event.seconds))
            self._last, self._last_at = event, now
            self._recent.append((now, event.step))
            self._step_seconds.setdefault(event.length, deque(maxlen=COST_WINDOW)).append(event.seconds)

    def _note(self, message: str) -> None:
        with self._lock:
            self._log.append(f"{datetime.now():%H:%M:%S} {message}")
            if message.startswith(TRAINING_ENDS):
                self._ended_by = message.removeprefix(TRAINING_ENDS)
            elif message.startswith("checkpoint saved") and self._last_at is not None:
                self._save_seconds = max(0.0, self._clock() - self._last_at)   # saved right after a step

    def _budget_left(self, last: TrainEvent | None, now: float) -> float | None:
        """The budget the last step left, less the time since: the clock runs between steps too."""
        if last is None or last.budget_left is None or self._last_at is None:
            return None
        return max(0.0, last.budget_left - (now - self._last_at))

    def _eta(self, last: TrainEvent | None, rate: float | None, now: float) -> float | None:
        """Seconds left: by length when the schedule matches the run (its step count), else by speed;
        with a time budget, never more than the budget left plus the final checkpoint."""
        if last is None or last.steps_target < last.step:
            return None
        by_steps = self._eta_by_steps(last, rate)
        budget_left = self._budget_left(last, now)
        if budget_left is None:
            return by_steps
        by_budget = budget_left + self._save_seconds
        return by_budget if by_steps is None else min(by_steps, by_budget)

    def _eta_by_steps(self, last: TrainEvent, rate: float | None) -> float | None:
        schedule = self._schedule
        if schedule is not None and schedule.total_steps == last.steps_target and self._step_seconds:
            costs = StepCosts({length: sum(times) / len(times) for length, times in self._step_seconds.items()})
            overhead = sum(self._overhead) / len(self._overhead) if self._overhead else 0.0
            return schedule.seconds_left(last.step, costs, overhead)
        return (last.steps_target - last.step) / rate if rate else None

    def _rate(self) -> float | None:
        if len(self._recent) < 2:
            return None
        (t0, s0), (t1, s1) = self._recent[0], self._recent[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 else None

    def _run(self) -> None:
        try:
            outcome = self._train(callbacks=[self._record], stop_event=self._stop_event, log=self._note)
            final = outcome if outcome in ("finished", "stopped") else (
                "stopped" if self._stop_event.is_set() else "finished")
            error = None
        except Exception as problem:  # every failure becomes the job's message, never a silent death
            final = "failed"
            error = user_message(problem)
            self.traceback = traceback.format_exc()
        with self._lock:
            self._status, self._error, self._ended_at = final, error, self._clock()
        self._note(f"error: {error}" if error else final)
        self._done.set()


class JobRegistry:
    """The process's training jobs, one per run folder; at most one is active at a time.

    The dashboard keeps one registry per process (st.cache_resource), so a job outlives the
    browser session that started it and every session sees the same jobs.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._jobs: dict[str, TrainingJob] = {}   # by run folder (by name for a job without one)
        self._latest: TrainingJob | None = None

    def start(self, name: str, train: TrainFunction, history: Mapping[str, Sequence[float]] | None = None,
              schedule: TrainingSchedule | None = None, folder: str | os.PathLike | None = None) -> TrainingJob:
        """Start ``train`` in a new job; HGymError naming the active job if there is one."""
        with self._lock:
            active = self._active()
            if active is not None:
                state = "stopping" if active.status == "stopping" else "training"
                raise HGymError(f"Run '{active.name}' is still {state}; stop it or wait for it to end "
                                f"before starting '{name}' (one training job at a time).")
            job = TrainingJob(name, train, history, schedule=schedule, folder=folder)
            self._jobs[_key(job)] = self._latest = job
            job.start()
            return job

    def active(self) -> TrainingJob | None:
        with self._lock:
            return self._active()

    def _active(self) -> TrainingJob | None:
        return next((job for job in self._jobs.values() if job.is_active()), None)

    def get(self, run: str | os.PathLike) -> TrainingJob | None:
        """The job of a run folder (or, for a job started without one, of that name)."""
        with self._lock:
            return self._jobs.get(str(Path(run).resolve())) or self._jobs.get(str(run))

    def latest(self) -> TrainingJob | None:
        with self._lock:
            return self._latest

    def forget(self, folder: str | os.PathLike) -> None:
        """Drop an ended job whose run was deleted; the latest job is then the one before it."""
        with self._lock:
            job = self._jobs.get(str(Path(folder).resolve()))
            if job is None or job.is_active():
                return
            del self._jobs[_key(job)]
            if self._latest is job:
                self._latest = max(self._jobs.values(), key=lambda other: other.started_at or 0.0, default=None)


def _key(job: TrainingJob) -> str:
    return str(job.folder) if job.folder is not None else job.name
