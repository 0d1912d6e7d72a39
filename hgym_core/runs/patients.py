"""Which patients a run trained on and which it kept out: the split, patients.json, and the tables back.

Before encoding, a seeded split of the table's patients keeps ``config.holdout`` of them out of
training (at least one patient on each side when the share is above 0); ``max_patients`` then
picks its subset from the training side. The run folder records the result in patients.json::

    {"train": [ids trained on], "holdout": [ids kept out]}     (the table's own patient ids)

so the privacy scores compare the synthetic patients with exactly the patients the generator
saw and exactly the ones it never saw:

    training, holdout = training_and_holdout(folder, table)    # holdout None: the run kept none
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from hgym_core.errors import HGymError
from hgym_core.gan.config import TrainConfig
from hgym_core.runs.atomic import atomic_write_text
from hgym_core.runs.folder import RunFolder
from hgym_core.runs.info import PatientCounts, RunInfo

SPLIT_STREAM = 0x686F6C64   # "hold": the split's own random stream, apart from the weights' and batches'
NO_HOLDOUT = ("This run kept no patients out of training: DCR share and membership inference need a holdout; "
              "train with holdout > 0 to score them.")


def holdout_size(n_patients: int, fraction: float) -> int:
    """Patients kept out of ``n_patients``: the share rounded, but at least 1 and never all of them."""
    if fraction <= 0:
        return 0
    if n_patients < 2:
        raise HGymError(f"Setting 'holdout' keeps patients out of training, but the table has {n_patients} patient; "
                        "set holdout to 0 or train on more patients.")
    return min(max(round(fraction * n_patients), 1), n_patients - 1)


def planned_counts(n_patients: int, config: TrainConfig) -> PatientCounts:
    """How many patients a run of ``config`` on a table of ``n_patients`` trains on and keeps out."""
    kept_out = holdout_size(n_patients, config.holdout)
    training_side = n_patients - kept_out
    trained = training_side if config.max_patients is None else min(config.max_patients, training_side)
    return PatientCounts(table=n_patients, trained=trained, holdout=kept_out, holdout_fraction=config.holdout)


@dataclass(frozen=True)
class PatientSplit:
    """The table's patient ids on each side. ``train`` narrows to the patients actually trained on
    once ``max_patients`` has picked them (``trained_on``)."""

    train: list
    holdout: list

    @classmethod
    def of(cls, ids: Sequence, fraction: float, seed: int) -> "PatientSplit":
        """A seeded split of ``ids`` (the table's patients in table order); the same ids, share and seed
        give the same split."""
        ids = [_plain(value) for value in ids]
        kept_out = holdout_size(len(ids), fraction)
        order = np.random.default_rng([int(seed), SPLIT_STREAM]).permutation(len(ids))
        held = set(order[:kept_out].tolist())
        return cls(train=[value for i, value in enumerate(ids) if i not in held],
                   holdout=[value for i, value in enumerate(ids) if i in held])

    def trained_on(self, ids: Sequence) -> "PatientSplit":
        return PatientSplit(train=[_plain(value) for value in ids], holdout=self.holdout)

    def counts(self, n_table: int, fraction: float) -> PatientCounts:
        return PatientCounts(table=n_table, trained=len(self.train), holdout=len(self.holdout),
                             holdout_fraction=fraction)

    # patients.json
    def write(self, folder: RunFolder) -> None:
        atomic_write_text(folder.patients_path, json.dumps({"train": self.train, "holdout": self.holdout}) + "\n")

    @classmethod
    def read(cls, folder: RunFolder) -> "PatientSplit | None":
        """The run's split; None for a run recorded before patients.json existed (it trained on its whole table)."""
        try:
            values = json.loads(folder.patients_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as problem:
            raise HGymError(f"{folder.patients_path} is damaged ({problem}); restore it from a backup: without "
                            "it the run cannot tell its training patients from its holdout.") from None
        if not (isinstance(values, dict) and all(isinstance(values.get(side), list) for side in ("train", "holdout"))):
            raise HGymError(f"{folder.patients_path} should hold {{\"train\": [...], \"holdout\": [...]}}; restore it "
                            "from a backup.")
        return cls(train=values["train"], holdout=values["holdout"])

    # the tables
    def training_rows(self, table: pd.DataFrame, id_column: str, run_name: str) -> pd.DataFrame:
        """The training patients' rows; HGymError when ``table`` lacks some of them (it is other data)."""
        rows = table[table[id_column].isin(self.train)]
        if rows[id_column].nunique() != len(self.train):
            raise HGymError(f"This table differs from the data run '{run_name}' was trained on: it lacks "
                            f"{len(self.train) - rows[id_column].nunique():,} of the run's {len(self.train):,} "
                            "training patients. Use that same data, or start a new run.")
        return rows

    def holdout_rows(self, table: pd.DataFrame, id_column: str) -> pd.DataFrame | None:
        return table[table[id_column].isin(self.holdout)] if self.holdout else None


def training_and_holdout(folder: RunFolder, table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(the patients the run trained on, the patients it kept out — None when it kept none), from
    the table it was trained on. A run recorded before patients.json trained on the whole table."""
    info = RunInfo.read(folder)
    if info.schema is None:
        raise HGymError(f"{folder.info_path} lacks 'schema'; the run is incomplete and cannot be compared.")
    id_column = info.schema["id_column"]
    split = PatientSplit.read(folder)
    if split is None:
        return table, None
    return split.training_rows(table, id_column, folder.name), split.holdout_rows(table, id_column)


def sample_patients(table: pd.DataFrame, id_column: str, n: int, seed: int) -> pd.DataFrame:
    """At most ``n`` of the table's patients, a seeded choice (all of them when there are fewer)."""
    ids = table[id_column].drop_duplicates().to_numpy()
    if len(ids) <= n:
        return table
    chosen = np.random.default_rng(seed).choice(len(ids), size=n, replace=False)
    return table[table[id_column].isin(ids[chosen])]


def _plain(value: Any) -> Any:
    """A patient id as JSON keeps it: numpy scalars become Python numbers; text stays text."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float, str)) or (
            isinstance(value, float) and not math.isfinite(value)):
        raise HGymError(f"Patient id {value!r} ({type(value).__name__}) cannot be recorded in patients.json; use "
                        "whole numbers or text as patient ids.")
    return value
