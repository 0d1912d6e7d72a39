"""Train page state that must not go stale: the default run name, other tabs' jobs, messages about
ended jobs, a deleted run's job; and what the page tells: patients, a time estimate, elapsed time,
the event log, links once a run has finished."""

from __future__ import annotations

from hgym_core.data.io import table_bytes
from pages._live import jobs_seen
from pages._datasets import accept_upload, demo_dataset
from pages._server import job_registry
from pages._session import Train
from tests._pages import SMALL_PATIENTS, folders, open_app, texts  # noqa: F401 - fixture
from tests.test_pages_train import set_tiny, wait_for

WAIT = 120


def run_name(at) -> str:
    return at.text_input(key=Train.run_name.key).value


def test_the_default_run_name_follows_the_data_and_the_preset(folders, hiv_cohort):
    at = open_app("train")
    assert run_name(at).startswith("hiv-auto-")   # the default preset
    at.selectbox(key=Train.preset.key).set_value("health-gym").run()
    assert run_name(at).startswith("hiv-health-gym-")

    # A blocked upload, then back to the built-in cohort: the name names the data in use.
    stray = hiv_cohort[hiv_cohort["PatientID"] < 20].astype({"CD4": object})
    stray.loc[3, "CD4"] = "abc"
    at.session_state["dataset"] = accept_upload(table_bytes(stray, "stray_text.csv"), "stray_text.csv")
    at.run()
    assert run_name(at).startswith("stray_text-health-gym-")
    at.session_state["dataset"] = demo_dataset(SMALL_PATIENTS, 0)
    at.run()
    assert run_name(at).startswith("hiv-health-gym-")

    at.text_input(key=Train.run_name.key).set_value("my-run").run()   # typed: it stays the user's
    at.selectbox(key=Train.preset.key).set_value("quick").run()
    assert run_name(at) == "my-run"


def test_another_tabs_job_and_messages_about_ended_jobs(folders):
    idle = open_app("train")          # a second tab, idle
    seen = jobs_seen(job_registry())  # what it drew: the timer compares the registry with this
    assert not idle.button(key="btn.start").disabled

    at = open_app("train")
    set_tiny(at, epochs=500)
    at.text_input(key=Train.run_name.key).set_value("long").run()
    at.button(key="btn.start").click().run()
    job = job_registry().active()
    assert "keeps training if you close this tab" in texts(at.success)
    assert jobs_seen(job_registry()) != seen   # the idle tab's timer reruns it
    idle.run()
    assert idle.button(key="btn.start").disabled and "long" in idle.get("progress")[0].proto.text

    wait_for(lambda: job.snapshot().step >= 2)
    at.button(key="btn.stop").click().run()
    assert "Stop requested for 'long'" in texts(at.success)
    assert job.join(WAIT)
    at.run()
    assert "Stop requested" not in texts(at.success) and "keeps training" not in texts(at.success)

    at.button(key="btn.resume").click().run()
    resumed = job_registry().active()
    assert "Resuming 'long'" in texts(at.success)
    resumed.stop()
    assert resumed.join(WAIT)
    at.run()
    assert "Resuming" not in texts(at.success)


def test_a_finished_job_shows_elapsed_time_a_wrapped_log_and_links_and_goes_with_its_run(folders):
    models, _ = folders
    at = open_app("train")
    set_tiny(at, epochs=1)
    assert ("Trains on 32 of 40 patients (holdout 0.2: 8 patients) for its time budget of 10 min 00 s: as many "
            "generator steps as fit, at most 4 generator steps (1 epoch × 2 lengths × 2 batches)") in texts(at.caption)
    at.text_input(key=Train.run_name.key).set_value("short").run()
    at.button(key="btn.start").click().run()
    job = job_registry().latest()
    assert job.join(WAIT) and job.status == "finished", job.error
    at.run()
    assert " · elapsed " in at.get("progress")[0].proto.text
    assert any("checkpoint saved at step 4 (epoch 1 done)" in code.value for code in at.code)
    assert all(code.proto.wrap_lines for code in at.code)   # long log lines wrap, not cut
    links = [link.proto.label for link in at.get("page_link")]
    assert "Compare 'short' with the real data" in links and "Generate patients from 'short'" in links
    assert "short" in texts(at.sidebar.caption)

    at.switch_page("pages/runs.py").run()
    at.selectbox(key="runs.selected").set_value("short").run()
    at.button(key="btn.delete").click().run()
    at.button(key="btn.confirm_delete").click().run()
    assert not (models / "short").exists()
    assert "short" not in texts(at.sidebar.caption)
    at.switch_page("pages/train.py").run()
    assert not at.get("progress") or "short" not in at.get("progress")[0].proto.text


def test_the_form_estimates_the_time_before_start(folders):
    at = open_app("train")
    set_tiny(at, epochs=3)
    assert "Estimated time" not in texts(at.caption)
    at.button(key="btn.estimate").click().run()
    assert not at.error, texts(at.error)
    shown = texts(at.caption)
    assert "Estimated time: **about " in shown and "an estimate from a few steps timed on this device" in shown
    at.number_input(key=Train.setting("epochs").key).set_value(4).run()   # more steps at the same cost: no new probe
    assert "Estimated time: **about " in texts(at.caption)
    at.number_input(key=Train.setting("hidden_dim").key).set_value(12).run()   # another step cost: measure again
    assert "Estimated time" not in texts(at.caption)
    assert job_registry().active() is None
