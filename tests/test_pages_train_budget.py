"""Train page with a time budget (issue 24): a run the budget ends long before its epochs shows the
budget's share spent, a plan in steps that fit the budget, a start-up line, a log without a line
per epoch, the reason it ended, and a run name of its start time.

A scripted job stands in for training where the page's words are the point (the job machinery is
tests/test_jobs.py's, the trainer's tests/test_trainer.py's): it emits the events and log lines
the test gives it, when the test says.
"""

from __future__ import annotations

import queue
import re
import threading
import time

from hgym_core.gan.events import TrainEvent
from hgym_core.runs.schedule import TrainingSchedule
from pages._live import STARTING, collapsed_log
from pages._server import job_registry
from pages._session import Train
from tests._pages import folders, open_app, texts  # noqa: F401 - fixture
from tests.test_pages_train import set_tiny, wait_for

WAIT = 120
BUDGET = TrainingSchedule(lengths=(50,), batches=3, epochs=1_000_000, time_budget=60.0)   # the auto preset's shape


class ScriptedTraining:
    """A training function that does what the test queues: ("event", TrainEvent), ("log", text), ("end", status)."""

    def __init__(self):
        self.todo: queue.Queue = queue.Queue()
        self.done = threading.Event()

    def __call__(self, callbacks, stop_event, log):
        while True:
            kind, content = self.todo.get(timeout=WAIT)
            if kind == "event":
                for callback in callbacks:
                    callback(content)
            elif kind == "log":
                log(content)
            if self.todo.empty() or kind == "end":
                self.done.set()
            if kind == "end":
                return content

    def send(self, *items) -> None:
        self.done.clear()
        for item in items:
            self.todo.put(item)
        assert self.done.wait(WAIT)


def step(number: int, budget_left: float) -> TrainEvent:
    return TrainEvent(epoch=(number - 1) // 3 + 1, length=50, step=number, d_loss=-1.0, gp=0.1, d_real=1.0,
                      d_fake=0.5, w=0.5, g_loss=0.2, corr=0.05, seconds=0.05, epochs_target=1_000_000,
                      steps_target=3_000_000, budget_left=budget_left)


def progress(at) -> tuple[int, str]:
    bar = at.get("progress")[0].proto
    return bar.value, bar.text


def log_text(at) -> str:
    return "\n".join(code.value for code in at.code)


def test_a_budget_run_shows_its_start_its_budget_spent_a_short_log_and_what_ended_it(folders):
    training = ScriptedTraining()
    job = job_registry().start("budget-run", training, schedule=BUDGET)
    at = open_app("train")
    value, text = progress(at)
    assert value == 0 and STARTING in text and "epoch 0/0" not in text and "ETA" not in text   # item 3

    training.send(("event", step(1, 58.0)))
    at.run()
    value, text = progress(at)
    # Item 1: the budget's share spent (2 s of 60 at least), not 1 of 3,000,000 steps; item 2's
    # numbers formatted: no "/1000000" or "/3000000" ceilings, which the budget never reaches.
    assert 3 <= value <= 20, value
    assert "epoch 1 · L=50 · step 1 · " in text and "of its 1 min 00 s budget" in text and "/" not in text.split("·")[2]
    eta = float(re.search(r"ETA (\d+) s", text).group(1))
    assert 50 <= eta <= 60   # item 4: the budget left (58 s, counted down since) plus the final save

    # Item 5: a line per short epoch would fill the log; like lines collapse, the first lines stay.
    training.send(*[("log", f"checkpoint saved at step {3 * k:,} (epoch {k:,} done)") for k in range(1, 301)])
    training.send(("event", step(900, 0.0)),
                  ("log", "training ends: its time budget of 60 s is spent after 900 steps (epoch 300 done)"),
                  ("end", "finished"))
    assert job.join(WAIT)
    at.run()
    value, text = progress(at)
    assert value == 100   # item 1: the bar fills when the budget ends the run
    # Item 7: the finished status says the budget ended it, with the epoch the progress showed.
    assert "finished: its time budget of 60 s is spent after 900 steps (epoch 300 done)" in text
    shown = log_text(at).splitlines()
    assert len(shown) < 20 and shown[0].endswith(" started")
    assert any("… 298 more like these …" in line for line in shown)
    assert shown[-1].endswith(" finished")


def test_like_log_lines_collapse_and_the_first_lines_always_show():
    lines = ["10:00:00 started"] + [f"10:00:{k:02d} checkpoint saved at step {k} (epoch {k} done)" for k in range(1, 50)]
    lines += ["10:01:00 validation loss 0.1 at step 50: the best so far, kept for sampling", "10:01:01 finished"]
    shown = collapsed_log(lines)
    assert shown == [lines[0], lines[1], "         … 47 more like these …", lines[49], lines[50], lines[51]]
    assert collapsed_log(lines[:3]) == lines[:3]   # two like lines stay as they are
    many = [f"line {chr(65 + k % 26)}{k}" for k in range(400)]   # no two alike
    shown = collapsed_log(many)
    assert shown[:10] == many[:10] and shown[-1] == many[-1] and "lines …" in shown[10] and len(shown) < 200


def plan_captions(at) -> list[str]:
    return [str(caption.value) for caption in at.caption if str(caption.value).startswith("Trains on")]


def test_the_plan_of_a_budget_run_says_about_how_many_steps_fit_in_it(folders):
    at = open_app("train")   # the auto preset: a ten-minute budget, 1,000,000 epochs as its ceiling
    at.number_input(key=Train.setting("time_budget").key).set_value(1.0).run()
    for name, value in {"hidden_dim": 8, "latent_dim": 8, "cpu_threads": 1}.items():
        at.number_input(key=Train.setting(name).key).set_value(value).run()
    [plan] = plan_captions(at)
    assert "for its time budget of 1 min 00 s" in plan and "1,000,000 epochs × 1 length × 2 batches" in plan
    assert not re.search(r"\d{4}", plan) and "1 lengths" not in plan
    at.button(key="btn.estimate").click().run()
    assert not at.error, texts(at.error)
    [plan] = plan_captions(at)
    found = re.search(r"\*\*about ([\d,]+) generator steps in 1 min 00 s\*\* at the measured speed", plan)
    assert found and int(found.group(1).replace(",", "")) > 10, plan
    assert not re.search(r"\d{4}", plan.replace(found.group(1), "")) and "Estimated time" not in texts(at.caption)


def test_a_run_is_named_for_its_start_and_the_field_shows_it_while_it_trains(folders):
    at = open_app("train")
    set_tiny(at, epochs=500)
    shown_before = at.text_input(key=Train.run_name.key).value
    assert shown_before.startswith("hiv-auto-")
    time.sleep(1.1)   # Start a second later: a default name carries the time Start was pressed
    at.button(key="btn.start").click().run()
    job = job_registry().active()
    try:
        assert job.name.startswith("hiv-auto-") and job.name > shown_before
        field = next(box for box in at.text_input if box.label == "Run name")
        assert field.value == job.name and field.disabled   # not the next run's name while this one trains
        assert f"Saved as {job.folder}" in texts(at.caption).replace("\\", "")
        assert f"Started '{job.name}'" in texts(at.success).replace("\\", "")
    finally:
        job.stop()
        assert job.join(WAIT)
    at.run()
    field = at.text_input(key=Train.run_name.key)
    assert not field.disabled and field.value.startswith("hiv-auto-") and field.value != job.name
