"""The one path of the command line and the Train page (runs/service.py): the same checks, the
same data and, on the built-in cohort, the same schema; runs are their folders."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hgym_core.data.demo import hiv_schema, simulate_hiv_cohort
from hgym_core.errors import HGymError
from hgym_core.runs import service
from hgym_core.runs.folder import RunFolder
from hgym_core.runs.info import RunInfo
from hgym_core.runs.jobs import JobRegistry
from hgym_core.runs.listing import list_runs
from hgym_core.runs.sources import demo_source
from hgym_core.synthesizer import Synthesizer
from pages._server import job_registry
from pages._session import Train
from tests._pages import SMALL_PATIENTS, TINY, folders, open_app, small_dataset, tiny_run  # noqa: F401
from tests.test_pages_train import set_tiny

ROOT = Path(__file__).resolve().parents[1]
WAIT = 120


def test_command_line_library_and_train_page_train_the_built_in_cohort_with_one_schema(folders):
    models, _ = folders
    published = hiv_schema(simulate_hiv_cohort(n_patients=SMALL_PATIENTS, seed=0)).to_dict()

    cli = subprocess.run([sys.executable, "-m", "hgym_core", "train", "--out", str(models / "cli"),
                          "--demo-patients", str(SMALL_PATIENTS), "--epochs", "1", "--batch-size", "16",
                          "--hidden-dim", "8", "--latent-dim", "8", "--curriculum", "5", "10", "--cpu-threads", "1",
                          "--progress-every", "0"], capture_output=True, text=True, timeout=300, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert cli.returncode == 0, cli.stderr
    assert "training on 32 of 40 patients (holdout 0.2: 8 patients)" in cli.stdout

    job = service.start_run(models / "library", TINY, demo_source(SMALL_PATIENTS, 0))
    assert job.join(WAIT) and job.status == "finished", job.error

    at = open_app("train")
    set_tiny(at, epochs=1)
    at.text_input(key=Train.run_name.key).set_value("page").run()
    at.button(key="btn.start").click().run()
    page_job = job_registry().active() or job_registry().latest()
    assert page_job.join(WAIT) and page_job.status == "finished", page_job.error

    for name in ("cli", "library", "page"):
        assert RunInfo.read(models / name).schema == published, name


def test_the_service_refuses_what_cannot_work_before_any_job_starts(tmp_path, tiny_run):
    registry = JobRegistry()
    done = tmp_path / "done"
    shutil.copytree(tiny_run, done)
    with pytest.raises(HGymError, match="already holds a run"):
        service.start_run(done, TINY, demo_source(SMALL_PATIENTS, 0), registry=registry)
    with pytest.raises(HGymError, match="has already trained 1 epoch"):
        service.continue_run(done, registry=registry)
    with pytest.raises(HGymError, match="not hidden_dim"):
        service.continue_run(done, epochs=3, settings={"hidden_dim": 64}, registry=registry)
    with pytest.raises(HGymError, match="not a run folder"):
        service.continue_run(tmp_path / "nothing", registry=registry)
    with pytest.raises(HGymError, match="holds only 1 patient"):
        service.start_run(tmp_path / "new", TINY, demo_source(1, 0))
    with pytest.raises(HGymError, match=r"asks for length 90, but the longest patient trained on has 60 time steps; "
                                        r"use lengths up to 60"):
        service.start_run(tmp_path / "new", TINY.replace(curriculum=(10, 90)), demo_source(SMALL_PATIENTS, 0))
    assert registry.latest() is None and not (tmp_path / "new").exists()


def test_a_copied_folder_is_a_run_of_its_own_and_a_renamed_one_resumes_and_deletes(tmp_path, tiny_run):
    models = tmp_path / "models"
    shutil.copytree(tiny_run, models / "hiv-1")
    shutil.copytree(models / "hiv-1", models / "hiv-1-backup")   # cp -r models/hiv-1 models/hiv-1-backup
    assert sorted(run.name for run in list_runs(models)) == ["hiv-1", "hiv-1-backup"]   # each once, by folder
    assert RunInfo.read(models / "hiv-1-backup").name != "hiv-1-backup"   # run.json's name is informational

    service.delete_run(models / "hiv-1-backup")
    assert not (models / "hiv-1-backup").exists() and RunFolder(models / "hiv-1").exists()

    (models / "hiv-1").rename(models / "renamed")
    job = service.extend_run(models / "renamed", more_epochs=1)
    assert job.name == "renamed" and job.join(WAIT) and job.status == "finished", job.error
    assert RunInfo.read(models / "renamed").epochs_done == 2
    service.delete_run(models / "renamed")
    assert list_runs(models) == []


def test_a_checkpoint_of_another_size_is_one_clear_sentence(tmp_path, tiny_run):
    dataset = small_dataset()
    other = tmp_path / "wider"
    Synthesizer(dataset.schema, TINY.replace(hidden_dim=12)).fit(dataset.frame, other, data_source=dataset.source)
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    shutil.copyfile(other / "checkpoint.pt", run / "checkpoint.pt")   # weights copied from another run
    with pytest.raises(HGymError, match=rf"^{run / 'checkpoint.pt'} does not fit run 'run': its weights are not"):
        Synthesizer.load(run)
    job = service.continue_run(run, epochs=2)   # resume loads the trainer's models too
    assert job.join(WAIT) and job.status == "failed" and "does not fit run 'run'" in job.error
    result = subprocess.run([sys.executable, "-m", "hgym_core", "sample", str(run), "--patients", "2", "--out",
                             str(tmp_path / "s.csv")], capture_output=True, text=True, timeout=300, cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "does not fit run" in result.stderr
