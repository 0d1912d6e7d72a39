"""The models folder: every run in it, each run's status as its folder shows it, and deleting a run."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from hgym_core.errors import HGymError
from hgym_core.runs.folder import RUN_FILE, RunFolder, run_path


@dataclass
class RunSummary:
    """One line of the runs table."""
    name: str
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


def _process_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def effective_status(info: Mapping[str, Any]) -> str:
    """The stored status, except that a 'running' run whose process has died reads 'stopped':
    its last checkpoint is intact and it can be resumed."""
    status = info.get("status", "created")
    if status == "running" and not _process_alive(info.get("pid")):
        return "stopped"
    return status


def summarize_run(folder: RunFolder) -> RunSummary:
    try:
        info = folder.read_info()
    except HGymError as problem:
        return RunSummary(folder.name, folder.path, "failed", 0, 0, None, None, "", "", "", str(problem))
    last = info.get("last_metrics") or {}
    data = info.get("data") or {}
    return RunSummary(
        name=info.get("name", folder.name), path=folder.path, status=effective_status(info),
        epochs_done=int(info.get("epochs_done", 0)), epochs_target=int(info.get("epochs_target", 0)),
        w=last.get("w"), corr=last.get("corr"), created=info.get("created", ""),
        data=data.get("description", "") if isinstance(data, dict) else str(data),
        device=info.get("device", ""), error=info.get("error"),
    )


def list_runs(models_dir: str | os.PathLike) -> list[RunSummary]:
    """Every run folder under ``models_dir`` (dashboard, CLI or library made), newest first."""
    root = Path(models_dir)
    if not root.is_dir():
        return []
    runs = [summarize_run(RunFolder(child)) for child in root.iterdir()
            if child.is_dir() and (child / RUN_FILE).is_file()]
    return sorted(runs, key=lambda run: (run.created, run.name), reverse=True)


def delete_run(models_dir: str | os.PathLike, name: str) -> None:
    path = run_path(models_dir, name)
    if not (path / RUN_FILE).is_file():
        raise HGymError(f"There is no run named '{name}' in {models_dir}.")
    if effective_status(RunFolder(path).read_info()) == "running":
        raise HGymError(f"Run '{name}' is training; stop it before deleting it.")
    shutil.rmtree(path)
