"""Train page: every setting editable, presets, start / stop / resume / extend with a tiny configuration."""

from __future__ import annotations

import dataclasses
import re
import time

import numpy as np
import pandas as pd

from hgym_core.data.io import table_bytes
from hgym_core.gan.config import TrainConfig
from hgym_core.runs.folder import RunFolder
from hgym_core.runs.info import RunInfo
from pages._datasets import accept_upload
from pages._format import plain
from pages._server import job_registry
from pages._session import App, Train
from tests._pages import copy_run, folders, open_app, small_dataset, texts, tiny_run  # noqa: F401 - fixtures

TINY_SETTINGS = {"batch_size": 16, "hidden_dim": 8, "latent_dim": 8, "max_patients": 0, "cpu_threads": 1}


def set_tiny(at, epochs: int) -> None:
    for name, value in {**TINY_SETTINGS, "epochs": epochs}.items():
        at.number_input(key=Train.setting(name).key).set_value(value)
    at.text_input(key=Train.setting("curriculum").key).set_value("5, 10")
    at.run()


def wait_for(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_every_setting_has_a_widget_with_help_and_presets_fill_them(folders):
    at = open_app("train")
    widgets = {w.key: w for kind in (at.number_input, at.text_input, at.checkbox, at.selectbox) for w in kind}
    for field in dataclasses.fields(TrainConfig):
        names = ["beta1", "beta2"] if field.name == "betas" else [field.name]
        keys = [Train.setting(name).key for name in names]
        for key in keys:
            assert key in widgets and widgets[key].help, f"no widget with help for {field.name}"
    at.selectbox(key=Train.preset.key).set_value("health-gym").run()
    assert at.number_input(key=Train.setting("epochs").key).value == 100
    assert at.number_input(key=Train.setting("hidden_dim").key).value == 128


def start_problems(at) -> str:
    """The errors shown beside Start (each names a setting and its fix)."""
    return texts([alert for alert in at.error if alert.proto.icon == ":material/block:"])


def test_a_wrong_setting_is_named_beside_start_which_waits_for_it(folders):
    at = open_app("train")
    assert not start_problems(at) and not at.button(key=Train.start_button.key).disabled
    at.text_input(key=Train.setting("curriculum").key).set_value("ten, twenty").run()
    assert "Setting 'curriculum' must list whole numbers" in start_problems(at)
    assert at.button(key=Train.start_button.key).disabled
    at.text_input(key=Train.setting("curriculum").key).set_value("10, 90").run()   # the cohort has 60 months
    assert "asks for length 90, but the longest patient trained on has 60 time steps; use lengths up to 60" \
        in start_problems(at)
    assert at.button(key=Train.start_button.key).disabled
    at.text_input(key=Train.setting("curriculum").key).set_value("10, 60").run()
    at.number_input(key=Train.setting("batch_size").key).set_value(64).run()   # 32 patients train (holdout 0.2)
    assert plain("Setting 'batch_size' (64) is more than the 32 patients the run trains on; set it to 32 or less") \
        in start_problems(at)
    at.number_input(key=Train.setting("batch_size").key).set_value(32).run()
    assert not start_problems(at) and not at.button(key=Train.start_button.key).disabled
    assert job_registry().active() is None


def short_table(n_patients: int = 30, steps: int = 20) -> pd.DataFrame:
    """A table shorter than the quick preset's 60 steps, with empty cells in its label column."""
    rng = np.random.default_rng(0)
    arm = rng.choice(["A", "B", None], n_patients * steps).astype(object)
    return pd.DataFrame({"subject": np.repeat(np.arange(n_patients), steps),
                         "visit": np.tile(np.arange(steps), n_patients),
                         "score": rng.gamma(2.0, 3.0, n_patients * steps).round(2), "arm": arm})


def test_the_quick_preset_fits_a_short_table_and_follows_the_data_until_a_setting_is_typed(folders):
    at = open_app("train")
    at.selectbox(key=Train.preset.key).set_value("quick").run()
    curriculum, batch = Train.setting("curriculum").key, Train.setting("batch_size").key
    # The 40-patient cohort: 60 months, 32 patients train (holdout 0.2), so the batch of 64 is 32.
    assert at.text_input(key=curriculum).value == "10, 30, 60" and at.number_input(key=batch).value == 32
    short = accept_upload(table_bytes(short_table(), "short.csv"), "short.csv")
    at.session_state[App.dataset.key] = short
    at.run()
    # 20 steps, 24 of 30 patients train: the preset's lengths scale to 20 (10/30/60 -> 4/10/20), its batch to 24.
    assert at.text_input(key=curriculum).value == "4, 10, 20" and at.number_input(key=batch).value == 24
    assert not start_problems(at) and not at.button(key=Train.start_button.key).disabled
    assert "Trains on 24 of 30 patients" in texts(at.caption)

    at.number_input(key=batch).set_value(8).run()                 # typed: it stays the user's
    at.session_state[App.dataset.key] = small_dataset()
    at.run()
    assert at.text_input(key=curriculum).value == "10, 30, 60" and at.number_input(key=batch).value == 8


def test_a_time_budget_is_a_basic_setting_with_the_time_it_ends(folders):
    at = open_app("train")
    assert re.search(r"Time budget 10 min 00 s: started now", texts(at.caption))   # auto: ten minutes
    at.selectbox(key=Train.preset.key).set_value("quick").run()                   # quick: no budget
    budget = at.number_input(key=Train.setting("time_budget").key)
    assert budget.label == "Time budget in minutes (0 = train every epoch)" and "minutes" in budget.help
    assert "Time budget" not in texts(at.caption)
    budget.set_value(30.0).run()
    assert re.search(r"Time budget 30 min 00 s: started now, it ends by about \*\*\d\d:\d\d\*\*", texts(at.caption))


def test_start_stop_and_resume_a_tiny_run(folders):
    models, _ = folders
    at = open_app("train")
    set_tiny(at, epochs=500)   # far more than the test waits for: it must be stopped
    at.text_input(key=Train.run_name.key).set_value("tiny ../run").run()
    at.button(key="btn.start").click().run()
    job = job_registry().active()
    assert job is not None and job.name == "tiny-run"    # sanitised: no path escapes the models folder
    wait_for(lambda: job.snapshot().step >= 3)
    at.run()                                             # the live panel draws from the job's snapshot
    assert "epoch" in at.get("progress")[0].proto.text and "Step " in texts(at.caption)
    assert at.button(key="btn.start").disabled
    assert "running · tiny-run · live on this page" in texts(at.sidebar.caption)   # no second timer here
    at.switch_page("pages/runs.py").run()
    assert "running · tiny-run · epoch " in texts(at.sidebar.caption)              # elsewhere it counts epochs
    at.switch_page("pages/train.py").run()

    at.button(key="btn.stop").click().run()
    assert job.join(60) and job.status == "stopped"
    stopped_at = RunInfo.read(RunFolder(models / "tiny-run")).to_dict()
    assert stopped_at["status"] == "stopped" and stopped_at["checkpoint_step"] == job.snapshot().step

    at.run()
    assert at.selectbox(key=Train.resume_run.key).value == "tiny-run"
    at.button(key="btn.resume").click().run()
    resumed = job_registry().active()
    assert resumed is not None and resumed is not job
    assert len(resumed.snapshot().history["step"]) == stopped_at["checkpoint_step"]   # earlier curve shown
    wait_for(lambda: resumed.snapshot().step > stopped_at["checkpoint_step"] + 2)
    resumed.stop()
    assert resumed.join(60) and resumed.status == "stopped"
    assert RunInfo.read(RunFolder(models / "tiny-run")).to_dict()["checkpoint_step"] > stopped_at["checkpoint_step"]


def test_extend_a_finished_run(folders, tiny_run):
    models, _ = folders
    copy_run(tiny_run, models, "done")
    at = open_app("train")
    assert at.selectbox(key=Train.extend_run.key).value == "done"
    at.number_input(key=Train.more_epochs.key).set_value(1).run()
    at.button(key="btn.extend").click().run()
    job = job_registry().latest()
    assert job.join(60) and job.status == "finished", job.error
    assert RunInfo.read(RunFolder(models / "done")).to_dict()["epochs_done"] == 2
    at.run()
    assert "finished" in at.get("progress")[0].proto.text
