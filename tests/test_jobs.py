"""Background jobs: stop, status, snapshots, error capture and one job per process.

The training function here is a fake that emits events when the test lets it, so every
check is about the job machinery and runs in milliseconds.
"""

from __future__ import annotations

import threading
import time

import pytest

from hgym_core.errors import HGymError
from hgym_core.gan.events import METRIC_COLUMNS, TrainEvent
from hgym_core.runs.jobs import JobRegistry, TrainingJob

WAIT = 5.0  # generous upper bound for a thread hand-off on a loaded 2-core machine


def event(step: int, steps_target: int = 100) -> TrainEvent:
    return TrainEvent(epoch=1, length=10, step=step, d_loss=-float(step), gp=0.1, d_real=1.0, d_fake=0.5, w=0.5,
                      g_loss=0.2, corr=0.3, seconds=0.01, epochs_target=2, steps_target=steps_target)


class FakeTraining:
    """Emits one event per ``advance()``, checks the stop flag between steps like the trainer."""

    def __init__(self, steps: int = 1000, fail_at: int | None = None):
        self.steps, self.fail_at = steps, fail_at
        self.allowed = threading.Semaphore(0)
        self.done_steps = 0
        self.emitted = threading.Event()

    def advance(self, n: int = 1) -> None:
        for _ in range(n):
            self.emitted.clear()
            self.allowed.release()
            assert self.emitted.wait(WAIT)

    def __call__(self, callbacks, stop_event, log):
        log("fake training started")
        while self.done_steps < self.steps:
            if stop_event.is_set():
                log("checkpoint saved")
                return "stopped"
            if not self.allowed.acquire(timeout=0.01):
                continue
            self.done_steps += 1
            if self.fail_at == self.done_steps:
                raise RuntimeError(f"boom at step {self.done_steps}")
            for callback in callbacks:
                callback(event(self.done_steps, self.steps))
            self.emitted.set()
        return "finished"


def test_job_runs_to_the_end_and_keeps_the_metric_history():
    training = FakeTraining(steps=3)
    job = TrainingJob("run-a", training).start()
    training.advance(3)
    assert job.join(WAIT)
    snap = job.snapshot()
    assert snap.status == job.status == "finished"
    assert snap.step == 3 and snap.steps_target == 3
    assert snap.history["step"] == [1, 2, 3]
    assert snap.history["d_loss"] == [-1.0, -2.0, -3.0]
    assert set(snap.history) == set(METRIC_COLUMNS)
    assert snap.eta_seconds is None  # nothing left to wait for
    assert any("fake training started" in line for line in snap.log) and snap.log[-1].endswith("finished")


def test_stop_returns_at_once_and_training_stops_before_its_next_step():
    training = FakeTraining()
    job = TrainingJob("run-b", training).start()
    training.advance(2)
    started = time.monotonic()
    job.stop()
    assert time.monotonic() - started < 0.5
    assert job.status in ("stopping", "stopped")
    assert job.join(WAIT)
    assert job.status == "stopped"
    assert training.done_steps == 2  # no step ran after the stop request
    log = job.snapshot().log
    assert any("stop requested" in line for line in log) and any("checkpoint saved" in line for line in log)


def test_snapshot_mid_run_has_speed_and_eta_and_is_a_copy():
    training = FakeTraining(steps=100)
    job = TrainingJob("run-c", training).start()
    training.advance(5)
    snap = job.snapshot()
    assert snap.status == "running" and snap.step == 5 and snap.epoch == 1 and snap.length == 10
    assert snap.steps_per_second is not None and snap.steps_per_second > 0
    assert snap.eta_seconds == pytest.approx((100 - 5) / snap.steps_per_second)
    snap.history["step"].append(999)
    assert job.snapshot().history["step"] == [1, 2, 3, 4, 5]
    job.stop()
    assert job.join(WAIT)


def test_an_exception_in_the_thread_becomes_the_job_error():
    training = FakeTraining(fail_at=2)
    job = TrainingJob("run-d", training).start()
    training.allowed.release()
    training.allowed.release()
    assert job.join(WAIT)
    assert job.status == "failed"
    assert job.error == "RuntimeError: boom at step 2"
    assert "Traceback" in job.traceback
    assert job.snapshot().log[-1].endswith("error: RuntimeError: boom at step 2")


def test_a_user_error_keeps_its_own_message():
    def train(callbacks, stop_event, log):
        raise HGymError("Setting 'lr' must be above 0.")

    job = TrainingJob("run-e", train).start()
    assert job.join(WAIT)
    assert job.status == "failed" and job.error == "Setting 'lr' must be above 0."


def test_history_from_an_earlier_session_is_kept_in_front():
    training = FakeTraining(steps=1)
    earlier = {column: [0.0] for column in METRIC_COLUMNS}
    job = TrainingJob("run-f", training, history=earlier).start()
    training.advance()
    assert job.join(WAIT)
    assert job.snapshot().history["step"] == [0.0, 1]


def test_registry_allows_one_active_job_and_names_it():
    registry = JobRegistry()
    first = FakeTraining()
    job = registry.start("first-run", first)
    with pytest.raises(HGymError, match="first-run"):
        registry.start("second-run", FakeTraining(steps=1))
    assert registry.active() is job and registry.latest() is job
    job.stop()
    assert job.join(WAIT)
    second = FakeTraining(steps=1)
    job2 = registry.start("second-run", second)
    second.advance()
    assert job2.join(WAIT) and job2.status == "finished"
    assert registry.active() is None
    assert registry.get("first-run") is job and registry.latest() is job2


class Clock:
    """A clock the test moves: the job's ETA then depends on the steps' recorded times only."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_eta_weights_the_steps_left_by_each_lengths_step_time():
    from hgym_core.runs.schedule import TrainingSchedule

    schedule = TrainingSchedule(lengths=(10, 60), batches=2, epochs=2)   # 8 steps
    clock, events = Clock(), []
    job = TrainingJob("eta", lambda callbacks, stop_event, log: events.extend(callbacks) or "finished",
                      schedule=schedule, clock=clock)
    job.start()
    assert job.join(WAIT)
    record = events[0]
    etas = []
    for step, (length, seconds) in enumerate([(10, 1.0), (10, 1.0), (60, 6.0), (60, 6.0), (10, 1.0)], start=1):
        clock.now += seconds + 0.5            # each step also waits 0.5 s outside the iteration (overhead)
        record(TrainEvent(epoch=1 + (step - 1) // 4, length=length, step=step, d_loss=0.0, gp=0.0, d_real=0.0,
                          d_fake=0.0, w=0.0, g_loss=0.0, corr=0.0, seconds=seconds, epochs_target=2,
                          steps_target=8))
        job._status = "running"               # as if still training (the fake ended at once)
        etas.append(job.snapshot().eta_seconds)
    # After step 1 only L=10 is measured (1 s): L=60 is read as 6 s. The overhead needs two steps.
    assert etas[0] == pytest.approx(1 * 1 + 2 * 6 + 2 * 1 + 2 * 6)
    assert etas[1] == pytest.approx(2 * 6 + 2 * 1 + 2 * 6 + 6 * 0.5)
    # Through the change of L the estimate only falls, step by step, by what each step cost.
    assert etas[2] == pytest.approx(1 * 6 + 2 * 1 + 2 * 6 + 5 * 0.5)
    assert etas[3] == pytest.approx(2 * 1 + 2 * 6 + 4 * 0.5)
    assert etas[4] == pytest.approx(1 * 1 + 2 * 6 + 3 * 0.5)


def test_with_a_time_budget_the_eta_counts_the_budget_down_and_progress_is_its_share(monkeypatch):
    """Issue 24, items 1 and 4: a budget ends a run long before its epochs (the auto preset's
    1,000,000), so the progress is the budget's share spent and the ETA the budget left, counted
    down by the clock between steps, plus the final checkpoint."""
    from hgym_core.runs import jobs
    from hgym_core.runs.schedule import TrainingSchedule

    schedule = TrainingSchedule(lengths=(50,), batches=3, epochs=1_000_000, time_budget=60.0)
    clock, events = Clock(), []
    job = TrainingJob("budget", lambda callbacks, stop_event, log: events.extend([*callbacks, log]) or "finished",
                      schedule=schedule, clock=clock)
    job.start()
    assert job.join(WAIT)
    record, log = events
    job._status, job._ended_at = "running", None   # as if still training (the fake ended at once)
    starting = job.snapshot()
    assert starting.starting and starting.progress == 0.0 and starting.eta_seconds is None

    clock.now = 10.0
    record(TrainEvent(epoch=1, length=50, step=1, d_loss=0.0, gp=0.0, d_real=0.0, d_fake=0.0, w=0.0, g_loss=0.0,
                      corr=0.0, seconds=0.1, epochs_target=1_000_000, steps_target=3_000_000, budget_left=58.0))
    snap = job.snapshot()
    assert not snap.starting and snap.time_budget == 60.0 and snap.budget_left == 58.0
    assert snap.eta_seconds == pytest.approx(58.0 + jobs.FINAL_SAVE_SECONDS)
    assert snap.progress == pytest.approx(2 / 60)          # not 1 / 3,000,000
    clock.now = 13.0                                        # no step for 3 s: the clock runs on
    snap = job.snapshot()
    assert snap.budget_left == pytest.approx(55.0) and snap.eta_seconds == pytest.approx(55.0 + jobs.FINAL_SAVE_SECONDS)
    assert snap.progress == pytest.approx(5 / 60)

    log("checkpoint saved at step 1 (epoch 1, 1 of 3 batches at L=50)")   # 3 s after its step: saving is slow
    assert job.snapshot().eta_seconds == pytest.approx(55.0 + 3.0)
    log("training ends: its time budget of 60 s is spent after 1 steps (epoch 1, 1 of 3 batches at L=50)")
    job._status = "finished"
    done = job.snapshot()
    assert done.progress == 1.0 and done.ended_by.startswith("its time budget of 60 s is spent")


def test_without_a_budget_progress_is_the_share_of_steps():
    training = FakeTraining(steps=4)
    job = TrainingJob("steps", training).start()
    training.advance()
    snap = job.snapshot()
    assert snap.progress == pytest.approx(1 / 4) and snap.time_budget is None and snap.budget_left is None
    job.stop()
    assert job.join(WAIT) and job.snapshot().progress == pytest.approx(1 / 4)   # stopped: what it reached
