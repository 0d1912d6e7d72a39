"""Run folders on disk: ``models/<run>/{run.json, schema.json, checkpoint.pt, metrics.csv}``.

Everything a user would hate to lose lives here. Every file is written atomically (a temp
file in the same folder, fsynced, then ``os.replace``), so a crash mid-save leaves the
previous version in place. ``checkpoint.pt`` holds only tensors, dicts, lists, numbers and
strings, so it loads with ``torch.load(weights_only=True)`` and never runs pickled code.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
import torch

from hgym_core.errors import HGymError

RUN_FILE = "run.json"
SCHEMA_FILE = "schema.json"
CHECKPOINT_FILE = "checkpoint.pt"
METRICS_FILE = "metrics.csv"
STATUSES = ("created", "running", "stopped", "finished", "failed")


def now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def sanitize_run_name(name: str) -> str:
    """A folder name that stays inside models/: letters, digits, '.', '_' and '-' only.

    Separators, '..' and anything else become '-', so a name typed in the dashboard can never
    point outside the models folder.
    """
    cleaned = re.sub(r"(?:[^A-Za-z0-9._-]|\.{2,})+", "-", str(name).strip()).strip(".-_")[:100].strip(".-_")
    if not cleaned:
        raise HGymError(f"Run name {name!r} has no usable characters; use letters, digits, '-', '_' or '.'.")
    return cleaned


def run_path(models_dir: str | os.PathLike, name: str) -> Path:
    """``models_dir/<sanitized name>``, checked to lie inside ``models_dir``."""
    root = Path(models_dir).resolve()
    path = (root / sanitize_run_name(name)).resolve()
    if path.parent != root:  # belt and braces: sanitize_run_name already forbids separators
        raise HGymError(f"Run name {name!r} would leave the models folder; choose a plain name.")
    return path


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable; some file systems refuse to open a directory, which is harmless."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, write) -> None:
    """Call ``write(file)`` on a temp file next to ``path``, fsync it, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


# --- RNG states as tensors (weights_only-safe) -------------------------------------------------

def capture_rng_states(noise: torch.Generator) -> dict:
    """Every random stream training touches: torch (CPU and CUDA), numpy, Python, and the noise generator."""
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    py_version, py_state, py_gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"kind": np_kind, "keys": torch.from_numpy(np_keys.astype(np.int64)), "pos": int(np_pos),
                  "has_gauss": int(np_has_gauss), "cached_gaussian": float(np_gauss)},
        "python": {"version": py_version, "state": torch.tensor(py_state, dtype=torch.int64), "gauss_next": py_gauss},
        "noise": noise.get_state(),
        "noise_device": str(noise.device),
    }


def restore_rng_states(states: Mapping, noise: torch.Generator) -> bool:
    """Restore what ``capture_rng_states`` saved; False when the noise stream could not be
    restored because the run moved between CPU and CUDA (the caller reseeds it).

    RNG states are CPU byte tensors whatever the device, so each is brought back to the CPU in
    case the checkpoint was loaded with a CUDA map_location."""
    torch.set_rng_state(states["torch"].cpu())
    if states["cuda"] and torch.cuda.is_available() and len(states["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([state.cpu() for state in states["cuda"]])
    numpy_state = states["numpy"]
    np.random.set_state((numpy_state["kind"], numpy_state["keys"].cpu().numpy().astype(np.uint32), numpy_state["pos"],
                         numpy_state["has_gauss"], numpy_state["cached_gaussian"]))
    python_state = states["python"]
    random.setstate((python_state["version"], tuple(int(v) for v in python_state["state"].cpu().tolist()),
                     python_state["gauss_next"]))
    if torch.device(states["noise_device"]).type != noise.device.type:
        return False
    noise.set_state(states["noise"].cpu())
    return True


# --- the run folder ----------------------------------------------------------------------------

class RunFolder:
    """One training run on disk. Cheap to create; touches the disk only when asked."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def info_path(self) -> Path:
        return self.path / RUN_FILE

    @property
    def schema_path(self) -> Path:
        return self.path / SCHEMA_FILE

    @property
    def checkpoint_path(self) -> Path:
        return self.path / CHECKPOINT_FILE

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS_FILE

    def exists(self) -> bool:
        return self.info_path.is_file()

    def has_checkpoint(self) -> bool:
        return self.checkpoint_path.is_file()

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    # run.json / schema.json
    def read_info(self) -> dict:
        try:
            return json.loads(self.info_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise HGymError(f"'{self.path}' is not a run folder (no {RUN_FILE}); train a model into it first.") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as problem:
            raise HGymError(f"{self.info_path} is damaged ({problem}); the run cannot be read.") from None

    def write_info(self, info: Mapping[str, Any]) -> None:
        info = dict(info, updated=now_iso())
        atomic_write_text(self.info_path, json.dumps(info, indent=2, allow_nan=False, default=_json_default) + "\n")

    def update_info(self, **changes: Any) -> dict:
        info = self.read_info()
        info.update(changes)
        self.write_info(info)
        return info

    def write_schema(self, schema_json: str) -> None:
        atomic_write_text(self.schema_path, schema_json if schema_json.endswith("\n") else schema_json + "\n")

    # checkpoint.pt
    def save_checkpoint(self, state: Mapping[str, Any]) -> None:
        atomic_write(self.checkpoint_path, lambda handle: torch.save(dict(state), handle))

    def load_checkpoint(self, map_location: str | torch.device = "cpu") -> dict:
        if not self.has_checkpoint():
            raise HGymError(f"Run '{self.name}' has no {CHECKPOINT_FILE} yet; train it for at least one epoch first.")
        try:
            return torch.load(self.checkpoint_path, map_location=map_location, weights_only=True)
        except Exception as problem:  # pickle.UnpicklingError for foreign objects, RuntimeError for damage
            first_line = str(problem).strip().splitlines()[0] if str(problem).strip() else type(problem).__name__
            raise HGymError(f"{self.checkpoint_path} cannot be loaded safely ({first_line}); it is damaged or was not "
                            f"written by Health Gym Studio. Delete the run or restore the file.") from None

    # metrics.csv
    def append_metrics(self, row: Mapping[str, Any]) -> None:
        """Append one row (header first on a new file) and flush, so a live reader sees it at once."""
        new = not self.metrics_path.is_file() or self.metrics_path.stat().st_size == 0
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.metrics_path, "a", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(list(row))
            writer.writerow(list(row.values()))

    def read_metrics(self) -> pd.DataFrame:
        """All rows so far (an empty frame before the first step)."""
        if not self.metrics_path.is_file() or self.metrics_path.stat().st_size == 0:
            return pd.DataFrame()
        try:
            return pd.read_csv(self.metrics_path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError):
            # A live reader can meet a half-written last line; everything before it is whole.
            text = self.metrics_path.read_text(encoding="utf-8")
            return pd.read_csv(io.StringIO(text[: text.rfind("\n") + 1]))

    def truncate_metrics(self, last_step: int) -> None:
        """Drop rows after ``last_step`` so metrics.csv matches a checkpoint being resumed."""
        metrics = self.read_metrics()
        if metrics.empty or "step" not in metrics or metrics["step"].max() <= last_step:
            return
        kept = metrics[metrics["step"] <= last_step]
        atomic_write(self.metrics_path, lambda handle: handle.write(kept.to_csv(index=False).encode("utf-8")))


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (tuple, set)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# --- the models folder ---------------------------------------------------------------------------

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
