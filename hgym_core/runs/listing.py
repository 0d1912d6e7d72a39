"""The models folder: every run in it, each run's status as its folder shows it, and deleting a run.

A run is its folder: listed, opened and deleted by path, named by its folder's name (a copy is
its own run). Whether it trains right now comes from its lock (``runs/lock.py``), not run.json.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from hgym_core.errors import HGymError
from hgym_core.runs.folder import RUN_FILE, RunFolder
from hgym_core.runs.info import RunInfo, RunStatus
from hgym_core.runs.lock import RunLock, is_training


@dataclass
class RunSummary:
    """One line of the runs table."""
    name: str            # the folder's name
    path: Path
    status: str
    epochs_done: int
    epochs_target: int
    w: float | None
    corr: float | None
    created: str
    data: str
    device: str
    error: str | None
    patients: str = ""               # '1,024 of 8,916 patients (holdout 0.2: 1,783 patients)'
    info: RunInfo | None = None      # run.json, None when it cannot be read (``error`` says why)


def effective_status(folder: RunFolder, info: RunInfo) -> RunStatus:
    """The stored status, corrected by the folder's lock: a held lock means a process trains the
    run now; a 'running' run whose lock is free lost its process (a crash, a killed terminal) and
    reads 'stopped': its last checkpoint is intact and it can be resumed."""
    if is_training(folder):
        return RunStatus.RUNNING
    return RunStatus.STOPPED if info.status == RunStatus.RUNNING else info.status


def summarize_run(folder: RunFolder) -> RunSummary:
    try:
        info = RunInfo.read(folder)
    except HGymError as problem:
        return RunSummary(folder.name, folder.path, "failed", 0, 0, None, None, "", "", "", str(problem))
    last = info.last_metrics or {}
    counts = info.trained_patients()
    return RunSummary(
        name=folder.name, path=folder.path, status=effective_status(folder, info),
        epochs_done=info.epochs_done, epochs_target=info.epochs_target,
        w=last.get("w"), corr=last.get("corr"), created=info.created,
        data=info.data.description if info.data else "", device=info.device, error=info.error,
        patients=counts.describe() if counts else "", info=info,
    )


def list_runs(models_dir: str | os.PathLike) -> list[RunSummary]:
    """Every run folder under ``models_dir`` (dashboard, CLI or library made), newest first."""
    root = Path(models_dir)
    if not root.is_dir():
        return []
    runs = [summarize_run(RunFolder(child)) for child in root.iterdir()
            if child.is_dir() and (child / RUN_FILE).is_file()]
    return sorted(runs, key=lambda run: (run.created, run.name), reverse=True)


def delete_run(folder: str | os.PathLike | RunFolder) -> None:
    """Delete a run folder and everything in it; refused while a process trains it.

    The lock is held while the files go, so no training can start in the folder meanwhile.
    """
    folder = folder if isinstance(folder, RunFolder) else RunFolder(folder)
    if not folder.exists():
        raise HGymError(f"There is no run named '{folder.name}' in {folder.path.parent}.")
    lock = RunLock(folder).acquire(advice="stop it before deleting it")
    try:
        shutil.rmtree(folder.path)
    finally:
        lock.release()
