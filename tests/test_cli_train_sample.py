"""``python -m hgym_core train`` and ``sample`` end to end, and their one-line errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from hgym_core.runs.folder import RunFolder
from hgym_core.runs.info import RunInfo
from hgym_core.cli import main
from hgym_core.cli.train import progress_line
from hgym_core.data.io import read_table
from hgym_core.runs.jobs import JobSnapshot
from hgym_core.data.schema import Schema

ROOT = Path(__file__).resolve().parents[1]
TINY_FLAGS = ["--epochs", "1", "--batch-size", "8", "--hidden-dim", "16", "--latent-dim", "16",
              "--curriculum", "4", "8", "--cpu-threads", "1", "--progress-every", "0"]


def cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "hgym_core", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def data_file(hiv_cohort, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "hiv.csv"
    hiv_cohort[hiv_cohort["PatientID"] < 16].to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def schema_file(hiv_cohort, tmp_path_factory) -> Path:
    """Inferred from all 200 patients, so every category exists even if the 16-patient slice lacks some."""
    return Schema.infer(hiv_cohort).save(tmp_path_factory.mktemp("schema") / "schema.json")


@pytest.fixture(scope="module")
def trained(data_file, schema_file, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    run = tmp_path_factory.mktemp("models") / "cli-run"
    return run, cli("train", str(data_file), "--schema", str(schema_file), "--out", str(run), *TINY_FLAGS)


def test_train_writes_a_finished_run_and_reports_progress(trained):
    run, result = trained
    assert result.returncode == 0, result.stderr
    assert "epoch 1/1 | L " in result.stdout  # periodic progress lines when not on a terminal
    assert "checkpoint saved at step 4 (epoch 1 done)" in result.stdout
    assert "finished: epoch 1/1, step 4" in result.stdout and str(run) in result.stdout
    info = RunInfo.read(RunFolder(run)).to_dict()
    assert (info["status"], info["epochs_done"], info["config"]["hidden_dim"]) == ("finished", 1, 16)
    assert info["data"]["source"]["kind"] == "file"
    assert len(RunFolder(run).read_metrics()) == 4


def test_ctrl_c_stops_cleanly_with_a_checkpoint_to_resume_from(data_file, schema_file, tmp_path):
    run = tmp_path / "interrupted"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    flags = [*TINY_FLAGS, "--epochs", "1000"]  # far more than the test waits for
    # A shell's background job (`make test &`, nohup) passes SIGINT on as ignored, and Python then
    # keeps ignoring it: give the child the default, as a terminal's foreground command has.
    process = subprocess.Popen([sys.executable, "-m", "hgym_core", "train", str(data_file), "--schema",
                                str(schema_file), "--out", str(run), *flags], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        for line in process.stdout:  # wait for the first progress line: training is under way
            if line.startswith("epoch "):
                break
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "stopping after the current step" in out and "stopped: epoch" in out
    assert f"continue with: python -m hgym_core train --out {run} --resume" in out
    folder = RunFolder(run)
    step = folder.load_checkpoint()["position"]["step"]
    info = RunInfo.read(folder).to_dict()
    assert info["status"] == "stopped" and info["checkpoint_step"] == step
    assert len(folder.read_metrics()) == step


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_sample_writes_patients_in_the_training_format(trained, data_file, tmp_path, suffix):
    run, _ = trained
    out = tmp_path / f"synthetic{suffix}"
    result = cli("sample", str(run), "--patients", "7", "--seed", "3", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "wrote 7 synthetic patients (420 rows)" in result.stdout
    synthetic, real = read_table(out), pd.read_csv(data_file)
    assert list(synthetic.columns) == list(real.columns)
    assert sorted(synthetic["PatientID"].unique()) == list(range(7))


def test_sample_reports_progress_on_stderr_only_when_asked(trained, tmp_path, capsys):
    run, _ = trained
    args = ["sample", str(run), "--patients", "7", "--batch-size", "3", "--out", str(tmp_path / "s.csv")]
    assert main(args) == 0
    assert capsys.readouterr().err == ""   # stderr is not a terminal here: quiet without the flag
    assert main([*args, "--progress-every", "0"]) == 0
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert [line.split(" | ")[0] for line in lines] == [
        "sampled 3/7 patients (43%)", "sampled 6/7 patients (86%)", "sampled 7/7 patients (100%)"]
    assert " patients/s | ETA " in lines[0] and lines[-1].endswith("ETA 0 s")
    assert "wrote 7 synthetic patients" in captured.out and "sampled" not in captured.out


def test_resume_extends_a_finished_run_reusing_its_data_file(trained, capsys):
    run, _ = trained
    assert main(["train", "--out", str(run), "--resume", "--epochs", "2", "--progress-every", "0"]) == 0
    out = capsys.readouterr().out
    assert "using the run's data file" in out and "finished: epoch 2/2, step 8" in out
    assert RunInfo.read(RunFolder(run)).to_dict()["epochs_done"] == 2


@pytest.mark.parametrize("args, message", [
    (["train", "--out", "{tmp}/r", "--lr", "-1"], "error: Setting 'lr' (learning rate) must be above 0"),
    (["train", "{tmp}/missing.csv", "--out", "{tmp}/r"], "error: File '{tmp}/missing.csv' was not found"),
    (["train", "--out", "{tmp}/nothing", "--resume"], "error: '{tmp}/nothing' is not a run folder"),
    (["train", "--out", "{run}", "--resume"], "error: Run 'cli-run' has already trained"),
    (["train", "--out", "{run}", "--resume", "--epochs", "9", "--hidden-dim", "8"],
     "error: Resuming keeps the run's settings; only epochs, checkpoint_every, checkpoint_seconds, device, "
     "cpu_threads, time_budget, "
     "validation_every, early_stop may change, not hidden_dim"),
    (["train", "--out", "{run}"], "error: '{run}' already holds a run"),
    (["sample", "{run}", "--patients", "0", "--out", "{tmp}/s.csv"], "error: --patients must be at least 1"),
    (["sample", "{run}", "--patients", "3", "--out", "{tmp}/s.xlsx"], "error: Cannot tell the format"),
])
def test_bad_arguments_give_one_clear_line(trained, tmp_path, capsys, args, message):
    run, _ = trained
    args = [arg.format(tmp=tmp_path, run=run) for arg in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(message.format(tmp=tmp_path, run=run)), err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_argparse_rejects_malformed_flags_in_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--out", "x", "--batch-size", "many"])
    assert exit_info.value.code == 2
    assert "argument --batch-size: expected a whole number, got 'many'" in capsys.readouterr().err


def test_progress_line_shows_epoch_length_losses_speed_and_eta():
    last = {"epoch": 2, "length": 20, "step": 45, "d_loss": -3.2149, "gp": 0.1, "d_real": 1.0, "d_fake": -0.2,
            "w": 1.2345, "g_loss": 0.5432, "corr": 0.12, "seconds": 0.4}
    snap = JobSnapshot(name="r", status="running", epoch=2, epochs_target=3, length=20, step=45, steps_target=120,
                       steps_per_second=2.5, eta_seconds=75 / 2.5 + 3600, elapsed_seconds=18.0, history={}, last=last,
                       log=[], error=None)
    assert progress_line(snap) == ("epoch 2/3 | L 20 | step 45/120 | D -3.215 W 1.234 G 0.543 Corr 0.120 | "
                                   "2.50 step/s | ETA 1:00:30")


def test_with_a_time_budget_the_progress_line_counts_the_budget_not_the_epochs_it_never_reaches():
    last = {"d_loss": -3.2149, "w": 1.2345, "g_loss": 0.5432, "corr": 0.12}
    snap = JobSnapshot(name="r", status="running", epoch=1234, epochs_target=1_000_000, length=60, step=2345,
                       steps_target=3_000_000, steps_per_second=2.5, eta_seconds=530.0, elapsed_seconds=70.0,
                       history={}, last=last, log=[], error=None, time_budget=600.0, budget_left=530.0)
    assert progress_line(snap) == ("epoch 1,234 | L 60 | step 2,345 | 1:10 of 10:00 budget | D -3.215 W 1.234 "
                                   "G 0.543 Corr 0.120 | 2.50 step/s | ETA 8:50")
    assert progress_line(JobSnapshot(name="r", status="running", epoch=0, epochs_target=0, length=0, step=0,
                                     steps_target=0, steps_per_second=None, eta_seconds=None, elapsed_seconds=3.0,
                                     history={}, last=None, log=[], error=None)).startswith("starting (reading")
