"""Train page: every setting editable, presets, start / stop / resume / extend with a tiny configuration."""

from __future__ import annotations

import dataclasses
import time

from hgym_core.runs.folder import RunFolder
from hgym_core.runs.info import RunInfo
from hgym_core.gan.config import TrainConfig
from pages._state import job_registry
from pages._train_form import PREFIX
from tests._pages import copy_run, folders, open_app, texts, tiny_run  # noqa: F401 - fixtures

TINY_SETTINGS = {"batch_size": 16, "hidden_dim": 8, "latent_dim": 8, "max_patients": 0, "cpu_threads": 1}


def set_tiny(at, epochs: int) -> None:
    for name, value in {**TINY_SETTINGS, "epochs": epochs}.items():
        at.number_input(key=PREFIX + name).set_value(value)
    at.text_input(key=PREFIX + "curriculum").set_value("5, 10")
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
        keys = [PREFIX + "beta1", PREFIX + "beta2"] if field.name == "betas" else [PREFIX + field.name]
        for key in keys:
            assert key in widgets and widgets[key].help, f"no widget with help for {field.name}"
    at.selectbox(key=PREFIX + "preset").set_value("health-gym").run()
    assert at.number_input(key=PREFIX + "epochs").value == 100
    assert at.number_input(key=PREFIX + "hidden_dim").value == 128


def test_a_wrong_setting_is_named_and_nothing_starts(folders):
    at = open_app("train")
    at.text_input(key=PREFIX + "curriculum").set_value("ten, twenty").run()
    at.button(key="btn.start").click().run()
    assert "curriculum" in texts(at.error)
    assert job_registry().active() is None


def test_start_stop_and_resume_a_tiny_run(folders):
    models, _ = folders
    at = open_app("train")
    set_tiny(at, epochs=500)   # far more than the test waits for: it must be stopped
    at.text_input(key=PREFIX + "run_name").set_value("tiny ../run").run()
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
    assert at.selectbox(key=PREFIX + "resume_run").value == "tiny-run"
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
    assert at.selectbox(key=PREFIX + "extend_run").value == "done"
    at.number_input(key=PREFIX + "more_epochs").set_value(1).run()
    at.button(key="btn.extend").click().run()
    job = job_registry().latest()
    assert job.join(60) and job.status == "finished", job.error
    assert RunInfo.read(RunFolder(models / "done")).to_dict()["epochs_done"] == 2
    at.run()
    assert "finished" in at.get("progress")[0].proto.text
