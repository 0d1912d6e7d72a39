"""run.json, typed: ``RunInfo`` is the one reader and the one writer of a run's record.

    info = RunInfo.read(folder)            # HGymError naming the field when run.json is malformed
    info.status, info.checkpoint_step, info.train_config(), info.patients.describe()
    RunInfo.update(folder, status=RunStatus.STOPPED)   # read, change, validate, write atomically

Nothing else opens run.json. The record is informational about the run's name (the run IS its
folder: a copied folder is its own run) and says nothing about whether a process trains it
right now: that is the folder's lock (``runs/lock.py``), which ``listing.effective_status``
reads.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import StrEnum
from pathlib import Path
from typing import Any, Callable

import numpy as np

from hgym_core.errors import HGymError
from hgym_core.gan.config import TrainConfig
from hgym_core.runs.atomic import atomic_write_text
from hgym_core.runs.folder import RunFolder


class RunStatus(StrEnum):
    """What run.json says the run's last writer left it as (compares equal to the plain word)."""

    CREATED = "created"     # the folder is set up; no step trained yet
    RUNNING = "running"     # a process was training it (whether one still is: the lock says)
    STOPPED = "stopped"     # stopped cleanly with a checkpoint: resumable
    FINISHED = "finished"   # trained every epoch asked for: extendable
    FAILED = "failed"       # an error ended it; ``error`` says which; the last checkpoint is kept


def now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


# --------------------------------------------------------------------------- shape checks

def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# field type -> (test, the words a message uses for it)
_KINDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "str": (lambda v: isinstance(v, str), "text"),
    "int": (_is_int, "a whole number"),
    "count": (lambda v: _is_int(v) and v >= 0, "a whole number of 0 or more"),
    "fraction": (lambda v: _is_number(v) and 0 <= v < 1, "a number from 0 to below 1"),
    "object": (lambda v: isinstance(v, dict), "an object ({...})"),
    "names": (lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v), "a list of column names"),
    "numbers": (lambda v: isinstance(v, dict) and all(isinstance(k, str) and (_is_number(x) or x is None)
                                                       for k, x in v.items()), "an object of numbers"),
}


def _checked(values: dict, kinds: dict[str, str], optional: set[str], where: str, path: str) -> dict:
    """``values`` restricted to ``kinds``' fields, each checked; HGymError naming the first wrong one."""
    checked = {}
    for name, kind in kinds.items():
        if name not in values:
            continue
        value = values[name]
        if value is None and name in optional:
            checked[name] = None
            continue
        test, words = _KINDS[kind]
        if not test(value):
            shown = json.dumps(value)[:60]
            raise HGymError(f"{where}: field '{path}{name}' should be {words}"
                            f"{' or null' if name in optional else ''}, not {shown}; the run cannot be read "
                            f"(restore run.json from a backup or delete the run).")
        checked[name] = value
    return checked


# --------------------------------------------------------------------------- parts of the record

@dataclass(frozen=True)
class DataRecord:
    """Which table the run was trained from: where it came from (``source``, see ``runs/sources.py``),
    its size as given, and a fingerprint of the encoded training patients (resume checks it)."""

    description: str = ""
    source: dict = field(default_factory=dict)
    patients: int = 0
    rows: int = 0
    columns: list = field(default_factory=list)
    fingerprint: str | None = None

    KINDS = {"description": "str", "source": "object", "patients": "count", "rows": "count", "columns": "names",
             "fingerprint": "str"}


@dataclass(frozen=True)
class PatientCounts:
    """How many of the table's patients the run trained on and kept out (patients.json has the ids)."""

    table: int            # patients in the table the run was given
    trained: int          # patients it trained on (after the holdout and the max_patients subset)
    holdout: int          # patients kept out of training for the privacy scores
    holdout_fraction: float

    KINDS = {"table": "count", "trained": "count", "holdout": "count", "holdout_fraction": "fraction"}

    def describe(self) -> str:
        """'1,024 of 8,916 patients (holdout 0.2: 1,783 patients)' or '8,916 of 8,916 patients (holdout 0)'."""
        kept = f"holdout {self.holdout_fraction:g}" + (f": {self.holdout:,} patients" if self.holdout else "")
        return f"{self.trained:,} of {self.table:,} patients ({kept})"


# --------------------------------------------------------------------------- the record

@dataclass(frozen=True)
class RunInfo:
    """run.json. ``name`` is informational: a run is its folder, and its folder name is its name."""

    name: str
    created: str = ""
    updated: str = ""
    status: RunStatus = RunStatus.CREATED
    epochs_done: int = 0
    epochs_target: int = 0
    checkpoint_step: int | None = None
    config: dict = field(default_factory=dict)
    schema: dict | None = None
    encoder: dict | None = None
    data: DataRecord | None = None
    patients: PatientCounts | None = None
    device: str = ""
    error: str | None = None
    last_metrics: dict | None = None
    # The memorisation guard and differential privacy: on or off, what was kept or spent, and why
    # (Trainer.privacy_record; docs/privacy.md).
    privacy: dict | None = None

    KINDS = {"name": "str", "created": "str", "updated": "str", "epochs_done": "count", "epochs_target": "count",
             "checkpoint_step": "count", "config": "object", "schema": "object", "encoder": "object",
             "device": "str", "error": "str", "last_metrics": "numbers", "privacy": "object"}
    OPTIONAL = {"checkpoint_step", "schema", "encoder", "error", "last_metrics", "data", "patients", "privacy"}

    # --- reading ---------------------------------------------------------------------------
    @classmethod
    def read(cls, folder: RunFolder | str | os.PathLike) -> "RunInfo":
        """The folder's run.json; HGymError when it is missing, not JSON, or of the wrong shape."""
        folder = folder if isinstance(folder, RunFolder) else RunFolder(folder)
        try:
            text = folder.info_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise HGymError(f"'{folder.path}' is not a run folder (no run.json); train a model into it first.") \
                from None
        except (OSError, UnicodeDecodeError) as problem:
            raise HGymError(f"{folder.info_path} cannot be read ({problem}); the run cannot be opened.") from None
        try:
            values = json.loads(text)
        except json.JSONDecodeError as problem:
            raise HGymError(f"{folder.info_path} is damaged ({problem}); the run cannot be read.") from None
        return cls.from_dict(values, where=str(folder.info_path), default_name=folder.name)

    @classmethod
    def from_dict(cls, values: Any, where: str = "run.json", default_name: str = "") -> "RunInfo":
        if not isinstance(values, dict):
            raise HGymError(f"{where} should hold one JSON object, not {type(values).__name__}; the run cannot "
                            "be read (restore run.json from a backup or delete the run).")
        fields = _checked(values, cls.KINDS, cls.OPTIONAL, where, "")
        if "status" in values:
            try:
                fields["status"] = RunStatus(values["status"])
            except (ValueError, TypeError):
                raise HGymError(f"{where}: field 'status' should be one of {', '.join(RunStatus)}, not "
                                f"{json.dumps(values['status'])[:60]}; the run cannot be read (restore run.json "
                                "from a backup or delete the run).") from None
        for name, part in (("data", DataRecord), ("patients", PatientCounts)):
            if values.get(name) is not None:
                nested = values[name]
                if not isinstance(nested, dict):
                    _checked({name: nested}, {name: "object"}, set(), where, "")
                missing = [f.name for f in dataclasses.fields(part) if f.default is dataclasses.MISSING
                           and f.default_factory is dataclasses.MISSING and f.name not in nested]
                if missing:
                    raise HGymError(f"{where}: field '{name}.{missing[0]}' is missing; the run cannot be read "
                                    "(restore run.json from a backup or delete the run).")
                fields[name] = part(**_checked(nested, part.KINDS, {"fingerprint"}, where, f"{name}."))
        if fields.get("config") is not None and "holdout" not in fields["config"]:
            # Runs recorded before the holdout setting trained on every patient they were given.
            fields["config"] = dict(fields["config"], holdout=0.0)
        fields.setdefault("name", default_name)
        return cls(**fields)

    # --- writing ---------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return json.loads(self.to_json())

    def to_json(self) -> str:
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name in ("data", "patients"):
            if values[name] is not None:
                values[name] = dataclasses.asdict(values[name])
        return json.dumps(values, indent=2, allow_nan=False, default=_json_default) + "\n"

    def write(self, folder: RunFolder) -> "RunInfo":
        """Write run.json atomically, stamped ``updated`` now; what it writes reads back (checked first)."""
        stamped = dataclasses.replace(self, updated=now_iso())
        text = stamped.to_json()
        RunInfo.from_dict(json.loads(text), where=f"the new {folder.info_path}")   # never write a shape read refuses
        atomic_write_text(folder.info_path, text)
        return stamped

    def replace(self, **changes: Any) -> "RunInfo":
        if "status" in changes:
            changes["status"] = RunStatus(changes["status"])
        return dataclasses.replace(self, **changes)

    @classmethod
    def update(cls, folder: RunFolder, **changes: Any) -> "RunInfo":
        """Read run.json (a fresh record when the folder has none yet), apply ``changes``, write it."""
        info = cls.read(folder) if folder.exists() else cls(name=folder.name, created=now_iso())
        return info.replace(**changes).write(folder)

    # --- what the record means -------------------------------------------------------------
    def train_config(self) -> TrainConfig:
        if not self.config:
            raise HGymError("run.json lacks 'config'; the run is incomplete and cannot be loaded.")
        return TrainConfig.from_dict(self.config)

    def trained_patients(self) -> PatientCounts | None:
        """The counts recorded, or for a run recorded before them, what its settings imply."""
        if self.patients is not None:
            return self.patients
        if self.data is None or not self.data.patients:
            return None
        max_patients = (self.config or {}).get("max_patients")
        trained = min(self.data.patients, max_patients) if isinstance(max_patients, int) else self.data.patients
        return PatientCounts(table=self.data.patients, trained=trained, holdout=0, holdout_fraction=0.0)


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (tuple, set)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
