"""One writer per run folder: the OS lock refuses a second writer, names the first, and frees itself
when its process dies; liveness (listing, delete, resume) comes from it. SIGTERM stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest

from hgym_core.errors import HGymError
from hgym_core.runs import service
from hgym_core.runs.folder import RunFolder
from hgym_core.runs.info import RunInfo
from hgym_core.runs.jobs import TrainingJob
from hgym_core.runs.listing import delete_run, list_runs
from hgym_core.runs.lock import RunBusy, RunLock, holder
from hgym_core.runs.tasks import fit_run
from hgym_core.runs.training_process import in_subprocess
from hgym_core.synthesizer import Synthesizer
from tests._pages import TINY, small_dataset

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))
WAIT = 120.0
HOLD = "import sys, time\nfrom hgym_core.runs.lock import RunLock\nRunLock(sys.argv[1]).acquire()\n" \
       "print('held', flush=True)\ntime.sleep(600)\n"
TRAIN_FLAGS = ["--demo-patients", "16", "--epochs", "1000", "--batch-size", "8", "--hidden-dim", "8",
               "--latent-dim", "8", "--curriculum", "4", "8", "--cpu-threads", "1", "--progress-every", "0"]


def wait_for(condition, seconds: float = WAIT) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def hold_lock(folder: Path) -> subprocess.Popen:
    """Another process holding the run's lock, as a training process would."""
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True,
                               env=ENV, cwd=ROOT)
    assert process.stdout.readline().strip() == "held"
    return process


def write_json(folder: Path, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run.json").write_text(text, encoding="utf-8")


def test_a_second_writer_is_refused_naming_the_holder_and_a_dead_holder_frees_the_run(tmp_path):
    folder = tmp_path / "run"
    process = hold_lock(folder)
    try:
        found = holder(folder)
        assert found is not None and found.pid == process.pid and found.command.startswith("python -c ")
        with pytest.raises(RunBusy, match=rf"^Run 'run' is being trained by process {process.pid} \(python -c "):
            RunLock(folder).acquire()
    finally:
        process.send_signal(signal.SIGKILL)   # a crash: nothing runs to release the lock
        process.wait()
    assert holder(folder) is None
    with RunLock(folder) as lock:   # the OS released it: the run is not stuck
        assert lock.held and holder(folder).pid == os.getpid()
    assert holder(folder) is None


def test_liveness_comes_from_the_lock_not_a_recorded_pid(tmp_path):
    write_json(tmp_path / "crashed", '{"name": "crashed", "status": "running", "pid": 1}')   # pid 1 lives, always
    write_json(tmp_path / "live", '{"name": "live", "status": "finished"}')
    process = hold_lock(tmp_path / "live")
    try:
        statuses = {run.name: run.status for run in list_runs(tmp_path)}
        assert statuses == {"crashed": "stopped", "live": "running"}
        with pytest.raises(HGymError, match=rf"process {process.pid}.*; stop it before deleting it"):
            delete_run(tmp_path / "live")
        delete_run(tmp_path / "crashed")   # its recorded pid belongs to another process: no matter
        assert not (tmp_path / "crashed").exists() and (tmp_path / "live").exists()
    finally:
        process.kill()
        process.wait()


def train_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "hgym_core", "train", *args]


def test_two_command_lines_on_one_folder_the_second_is_refused_and_sigterm_stops_the_first(tmp_path):
    out = tmp_path / "models" / "shared"
    first = subprocess.Popen(train_command("--out", str(out), *TRAIN_FLAGS), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
    try:
        for line in first.stdout:   # training is under way
            if line.startswith("epoch "):
                break
        assert first.poll() is None, first.stderr.read()
        for second_command in (train_command("--out", str(out), *TRAIN_FLAGS),
                               train_command("--out", str(out), "--resume", "--progress-every", "0")):
            second = subprocess.run(second_command, capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=WAIT)
            assert second.returncode == 2, second.stdout
            assert second.stderr.startswith(f"error: Run 'shared' is being trained by process {first.pid} "
                                            f"(python -m hgym_core train --out {out}"), second.stderr
        with pytest.raises(RunBusy, match=f"process {first.pid}"):   # the Train page's Resume path
            service.continue_run(out)

        first.send_signal(signal.SIGTERM)   # a timeout, systemd or docker stop
        out_text, err = first.communicate(timeout=WAIT)
    finally:
        first.kill()
    assert first.returncode == 0, err
    assert "SIGTERM: stopping after the current step" in out_text and "stopped: epoch" in out_text
    info = RunInfo.read(out)
    assert info.status == "stopped" and holder(out) is None
    step = RunFolder(out).load_checkpoint()["position"]["step"]
    assert info.checkpoint_step == step
    assert RunFolder(out).read_metrics()["step"].tolist() == list(range(1, step + 1))   # each step once
    Synthesizer.load(out).sample(2)   # the checkpoint loads and samples


def test_the_dashboards_training_process_holds_the_lock_and_stops_cleanly_on_sigterm(tmp_path):
    dataset, folder = small_dataset(), tmp_path / "child"
    task = partial(fit_run, dataset.schema, TINY.replace(epochs=1000), dataset.frame, folder, dataset.source)
    job = TrainingJob("child", in_subprocess(task), folder=folder).start()
    try:
        wait_for(lambda: job.snapshot().step >= 2)
        found = holder(folder)
        assert found.pid != os.getpid() and found.command.startswith("the dashboard's training process")
        os.kill(found.pid, signal.SIGTERM)
        assert job.join(WAIT)
    finally:
        job.stop()
        job.join(WAIT)
    assert job.status == "stopped", job.error
    info = RunInfo.read(folder)
    assert info.status == "stopped" and info.checkpoint_step == RunFolder(folder).load_checkpoint()["position"]["step"]
    assert holder(folder) is None


def test_temp_files_of_dead_writers_are_cleared_when_the_run_starts_again(tmp_path):
    dataset, folder = small_dataset(), RunFolder(tmp_path / "run")
    Synthesizer(dataset.schema, TINY).fit(dataset.frame, folder.path, data_source=dataset.source)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()   # its pid is free now: a writer killed with kill -9 mid-save
    stale = folder.path / f".checkpoint.pt.{gone.pid}.tmp"
    alive = folder.path / f".metrics.csv.{os.getpid()}.tmp"   # a process that still runs: not ours to remove
    stale.write_bytes(b"half a checkpoint")
    alive.write_bytes(b"being written")
    Synthesizer.load(folder.path).resume(dataset.frame, epochs=2)
    assert not stale.exists() and alive.exists()
