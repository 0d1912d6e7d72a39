"""Run folders on disk: ``models/<run>/{run.json, schema.json, patients.json, checkpoint.pt, metrics.csv, train.lock}``.

A run is its folder: its name is the folder's name, and a copied or renamed folder is a run of
its own. Everything a user would hate to lose lives here. Every file is written atomically
(``runs/atomic.py``), so a crash mid-save leaves the previous version in place. ``checkpoint.pt``
holds only tensors, dicts, lists, numbers and strings, so it loads with
``torch.load(weights_only=True)`` and never runs pickled code. run.json is read and written by
``runs/info.py`` only, patients.json by ``runs/patients.py``, train.lock by ``runs/lock.py``.
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
import torch

from hgym_core.errors import HGymError
from hgym_core.runs.atomic import atomic_write, atomic_write_text

RUN_FILE = "run.json"
SCHEMA_FILE = "schema.json"
CHECKPOINT_FILE = "checkpoint.pt"
METRICS_FILE = "metrics.csv"
PATIENTS_FILE = "patients.json"
LOCK_FILE = "train.lock"


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


def find_run(name_or_path: str | os.PathLike, models_dir: str | os.PathLike = "models") -> "RunFolder":
    """A run given as a folder (``models/hiv-1``) or as the name of a folder in ``models_dir``."""
    path = Path(name_or_path)
    if not path.is_dir() and (Path(models_dir) / path).is_dir():
        path = Path(models_dir) / path
    return RunFolder(path)


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

    @property
    def patients_path(self) -> Path:
        return self.path / PATIENTS_FILE

    @property
    def lock_path(self) -> Path:
        return self.path / LOCK_FILE

    def exists(self) -> bool:
        return self.info_path.is_file()

    def has_checkpoint(self) -> bool:
        return self.checkpoint_path.is_file()

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    # schema.json
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

