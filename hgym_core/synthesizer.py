"""The SDV-shaped front door: ``Synthesizer(schema, config).fit(df)``, ``.sample(n)``, ``.save`` / ``.load``.

    synthesizer = Synthesizer(schema, preset("quick")).fit(df, run_dir="models/hiv-quick")
    synthetic = synthesizer.sample(1000, seed=1)            # same columns and dtypes as df
    Synthesizer.load("models/hiv-quick").resume(df, epochs=10)   # extend a finished run

A run folder written by this class, the command line or the dashboard is the same thing (all
three go through here and the Trainer), so ``load`` reads any of them. ``fit`` keeps
``config.holdout`` of the patients out of training (``runs/patients.py``) and records both sides.
While ``fit`` or ``resume`` trains into a folder, this process holds the folder's lock
(``runs/lock.py``): a second writer is refused before it writes anything.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from typing import Callable, Iterator

import numpy as np
import pandas as pd
import torch
from torch import nn

from hgym_core.data.encoding import EncodedCohort, Encoder
from hgym_core.data.public_encoder import encode_private, public_encoder
from hgym_core.data.schema import Schema
from hgym_core.data.validation import check
from hgym_core.device import resolve_device
from hgym_core.errors import HGymError
from hgym_core.gan.config import TrainConfig, check_resume_changes
from hgym_core.gan.models import build_generator
from hgym_core.gan.sampling import sample_table
from hgym_core.data.table_writer import WrittenTable, write_batches
from hgym_core.gan.trainer import Hooks, Trainer
from hgym_core.runs.folder import RunFolder
from hgym_core.runs.info import DataRecord, PatientCounts, RunInfo, RunStatus, now_iso
from hgym_core.runs.listing import effective_status
from hgym_core.runs.lock import RunLock
from hgym_core.runs.patients import PatientSplit
from hgym_core.runs.sources import describe_source


def fingerprint(cohort: EncodedCohort) -> str:
    """A hash of the encoded training data, so a resume can tell it got the same data back."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(cohort.rows.cpu().numpy()).tobytes())
    digest.update(cohort.lengths.cpu().numpy().astype(np.int64).tobytes())
    return digest.hexdigest()[:16]


def describe_data(df: pd.DataFrame, schema: Schema, n_patients: int, source: dict | None,
                  trained: EncodedCohort) -> DataRecord:
    """run.json's "data": where the table came from (``source``, e.g. {"kind": "file", "path": ...}),
    its size as given and a fingerprint of the patients trained on."""
    source = dict(source or {"kind": "table"})
    return DataRecord(description=f"{describe_source(source)}: {n_patients:,} patients, {len(df):,} rows",
                      source=source, patients=n_patients, rows=len(df), columns=schema.columns,
                      fingerprint=fingerprint(trained))


def refuse_existing(run: RunFolder) -> None:
    if run.exists():
        raise HGymError(f"'{run.path}' already holds a run; choose another name, delete that run, or resume it.")


class Synthesizer:
    """A Health Gym v1 WGAN-GP for one schema: fit, sample, save, load, resume."""

    def __init__(self, schema: Schema, config: TrainConfig | None = None):
        self.schema = schema
        self.config = (config or TrainConfig()).validate()
        self.encoder: Encoder | None = None
        self.generator: nn.Module | None = None   # the one sampled from (the best, when validated)
        self.trainer: Trainer | None = None
        self.run: RunFolder | None = None
        self.data: DataRecord | None = None       # run.json's data description
        self.split: PatientSplit | None = None    # the patients trained on and kept out
        self.patients: PatientCounts | None = None
        self.status = "created"

    # --- training ------------------------------------------------------------------------------
    def fit(self, df: pd.DataFrame, run_dir: str | os.PathLike | None = None, hooks: Hooks | None = None,
            data_source: dict | None = None) -> "Synthesizer":
        """Check ``df`` against the schema, split off the holdout patients, fit the encoder on the
        rest and train a new run.

        With ``run_dir`` the run lives on disk (run.json, schema.json, patients.json, checkpoints,
        metrics.csv); without it, in memory until ``save``. Returns self; ``self.status`` is
        "finished", or "stopped" when ``stop_event`` was set (resume continues it).
        """
        run = RunFolder(run_dir) if run_dir is not None else None
        if run is not None:
            refuse_existing(run)   # at once, before the table is checked and encoded
        table = check(df, self.schema)   # every problem at once
        id_column = self.schema.id_column
        ids = table[id_column].drop_duplicates()
        split = PatientSplit.of(ids, self.config.holdout, self.config.seed)
        training_side = table[table[id_column].isin(split.train)]
        # The holdout patients stay unseen: not even the encoder's ranges come from them.
        # A static head generates each patient's length once: the encoder adds its block.
        if self.config.dp_epsilon is None:
            self.encoder = Encoder.fit(training_side, self.schema, length_block=self.config.static_head)
        else:   # differential privacy: nothing fitted to the patients (data/public_encoder.py)
            self.encoder = public_encoder(self.schema, training_side, self.config)
        trainer = Trainer(self.encoder, self._encode(training_side), self.config, run, training=training_side,
                          holdout=split.holdout_rows(table, id_column))
        self.split = split.trained_on(trainer.cohort.patient_ids)   # max_patients' subset, if any
        self.patients = self.split.counts(len(ids), self.config.holdout)
        self.data = describe_data(df, self.schema, len(ids), data_source, trainer.cohort)
        self.trainer, self.generator, self.run = trainer, trainer.generator, run
        if run is None:
            self.status = trainer.train(hooks)
        else:
            with RunLock(run):
                refuse_existing(run)   # again, now that no other process can be making it
                run.write_schema(self.schema.to_json())
                self.split.write(run)
                self._new_info(run.name).write(run)
                self.status = trainer.train(hooks)
        self.generator = trainer.sampling_generator()
        return self

    def resume(self, df: pd.DataFrame, epochs: int | None = None, hooks: Hooks | None = None) -> "Synthesizer":
        """Continue a loaded run from its checkpoint on the same data; ``epochs`` (the new total)
        extends a finished run."""
        if self.run is None or self.encoder is None:
            raise HGymError("Only a run loaded from its folder can be resumed: use Synthesizer.load(folder).resume(df).")
        with RunLock(self.run):
            info = RunInfo.read(self.run)
            self.config = resume_config(self.run, info, self.config, epochs)
            trainer = self._trainer_on_same_data(df, info)
            _load_weights(self.run, lambda state: trainer.load_state_dict(state, (hooks or Hooks()).log))
            if trainer.end_reason() is not None:
                raise HGymError(f"Run '{self.run.name}' has ended: {trainer.end_reason()}; {trainer.how_to_extend()}.")
            self.trainer, self.generator = trainer, trainer.generator
            self.status = trainer.train(hooks)
        self.generator = trainer.sampling_generator()
        return self

    def _trainer_on_same_data(self, df: pd.DataFrame, info: RunInfo) -> Trainer:
        """A trainer on the patients the run trained on, picked from ``df`` by patients.json;
        HGymError when ``df`` is other data."""
        split = PatientSplit.read(self.run)
        described = info.data.description if info.data else "unknown"
        if split is None:   # recorded before patients.json: trained on (max_patients of) the whole table
            cohort = self._encode(df)
            trainer, trained = Trainer(self.encoder, cohort, self.config, self.run), cohort
        else:
            rows = split.training_rows(df, self.schema.id_column, self.run.name)
            guarded = self.config.memorisation_guard   # the guard compares with both sides of the split
            trainer = Trainer(self.encoder, self._encode(rows), self.config, self.run,
                              training=check(rows, self.schema) if guarded else None,
                              holdout=split.holdout_rows(check(df, self.schema), self.schema.id_column)
                              if guarded else None)
            trained = trainer.cohort
        expected = info.data.fingerprint if info.data else None
        if expected is not None and fingerprint(trained) != expected:
            raise HGymError(f"This table differs from the data run '{self.run.name}' was trained on ({described}); "
                            f"resume with that same data, or start a new run.")
        return trainer

    def _encode(self, table: pd.DataFrame) -> EncodedCohort:
        """The training patients as the networks see them; under differential privacy each patient is
        first cut to the public bounds (``public_encoder.private_table``)."""
        if self.config.dp_epsilon is None:
            return self.encoder.encode(table)
        return encode_private(self.encoder, table, self.config)

    def _new_info(self, name: str) -> RunInfo:
        return RunInfo(name=name, created=now_iso(), status=RunStatus.CREATED, epochs_target=self.config.epochs,
                       config=self.config.to_dict(), schema=self.schema.to_dict(), encoder=self.encoder.to_dict(),
                       data=self.data, patients=self.patients,
                       device=self.trainer.device_label() if self.trainer else "")

    # --- sampling ------------------------------------------------------------------------------
    def sample(self, n_patients: int, seed: int = 0, length: int | None = None,
               batch_size: int = 2048, progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
        """``n_patients`` synthetic patients in the training table's columns and dtypes, ids 0..n-1.

        Generated and decoded ``batch_size`` patients at a time, so memory holds one batch of
        tensors plus the growing table (``sample_to_file`` holds one batch only). The same seed
        gives the same patients. ``progress``, when given, is called after each batch with
        (patients done, ``n_patients``); it runs in the calling thread and does not change the patients.
        """
        batches = self._batches(n_patients, seed, length, batch_size, progress)
        return pd.concat([frame for _, frame in batches], ignore_index=True)

    def sample_to_file(self, path: str | os.PathLike, n_patients: int, seed: int = 0, length: int | None = None,
                       batch_size: int = 2048, progress: Callable[[int, int], None] | None = None,
                       raw_csv: bool = False, preview_rows: int = 0) -> WrittenTable:
        """``sample(...)`` written batch by batch to ``path`` (.csv, .csv.gz, .parquet): memory does not
        grow with ``n_patients``, and the file holds what ``write_table(sample(...), path)`` would.

        Refused before most of the work when the disk cannot hold the file (``write_batches``).
        """
        batches = self._batches(n_patients, seed, length, batch_size, progress)
        return write_batches(batches, path, n_patients, raw_csv=raw_csv, preview_rows=preview_rows)

    def _batches(self, n_patients: int, seed: int, length: int | None, batch_size: int,
                 progress: Callable[[int, int], None] | None) -> Iterator[tuple[int, pd.DataFrame]]:
        """(patients, table) of each batch, in order; checks the arguments before the first batch."""
        if self.generator is None or self.encoder is None:
            raise HGymError("The synthesizer has not been trained: call fit(df) or Synthesizer.load(folder) first.")
        length = self.encoder.max_length if length is None else length
        for name, value in (("n_patients", n_patients), ("length", length), ("batch_size", batch_size)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise HGymError(f"'{name}' must be a whole number of at least 1 (got {value!r}).")
        device = next(self.generator.parameters()).device
        noise = torch.Generator(device=device).manual_seed(int(seed))
        return self._generate(n_patients, length, batch_size, noise, progress)

    def _generate(self, n_patients: int, length: int, batch_size: int, noise: torch.Generator,
                  progress: Callable[[int, int], None] | None) -> Iterator[tuple[int, pd.DataFrame]]:
        for first in range(0, n_patients, batch_size):
            count = min(batch_size, n_patients - first)
            with torch.inference_mode():   # per batch: the consumer runs between batches, outside it
                frame = sample_table(self.generator, self.encoder, count, length, noise, first_id=first)
            yield count, frame
            if progress is not None:   # after the consumer took the batch: "done" includes writing it
                progress(first + count, n_patients)

    # --- persistence ---------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike) -> RunFolder:
        """Write a complete run folder (resumable: critic, optimizers, random state and patients.json included)."""
        if self.trainer is None and self.run is None:
            raise HGymError("Nothing to save yet: call fit(df) first.")
        target = RunFolder(folder)
        if self.run is not None and target.path.resolve() == self.run.path.resolve():
            return target  # training already saved it at the end (or on stop)
        refuse_existing(target)
        with RunLock(target):
            if self.run is not None:  # a run on disk: copy its files, the newest state is there
                info = RunInfo.read(self.run)
                for source in (self.run.checkpoint_path, self.run.metrics_path, self.run.patients_path):
                    if source.is_file():
                        shutil.copyfile(source, target.path / source.name)
            else:
                target.save_checkpoint(self.trainer.state_dict())
                self.split.write(target)
                info = self._new_info(target.name).replace(
                    status=self.status, epochs_done=self.trainer.position.epoch,
                    checkpoint_step=self.trainer.position.step, last_metrics=self.trainer.last_metrics)
            target.write_schema(self.schema.to_json())
            info.replace(name=target.name).write(target)
        return target

    @classmethod
    def load(cls, folder: str | os.PathLike, device: str | None = None) -> "Synthesizer":
        """A synthesizer from any run folder; ``device`` overrides the run's setting ("auto" default)."""
        run = RunFolder(folder)
        info = RunInfo.read(run)
        for part in ("schema", "encoder"):
            if getattr(info, part) is None:
                raise HGymError(f"{run.info_path} lacks '{part}'; the run is incomplete and cannot be loaded.")
        config = info.train_config()
        if device is not None:
            config = config.replace(device=device)
        synthesizer = cls(Schema.from_dict(info.schema), config)
        encoder = Encoder.from_dict(info.encoder)
        generator = build_generator(encoder.spans, config, encoder)
        _load_weights(run, lambda state: generator.load_state_dict(sampling_weights(state)))
        synthesizer.encoder, synthesizer.generator = encoder, generator.to(resolve_device(config.device))
        synthesizer.run, synthesizer.status = run, effective_status(run, info)
        synthesizer.data, synthesizer.patients = info.data, info.trained_patients()
        return synthesizer


def resume_config(run: RunFolder, info: RunInfo, wanted: TrainConfig, epochs: int | None) -> TrainConfig:
    """The settings a resume of ``run`` trains with: ``wanted`` (the run's own, changed only where a
    resume may change them) with ``epochs`` as the new total. HGymError when a setting may not
    change, or when the run has already trained that many epochs."""
    check_resume_changes(info.train_config(), wanted)
    config = wanted.replace(epochs=epochs) if epochs is not None else wanted
    if info.epochs_done >= config.epochs:
        more = info.epochs_done + 10
        raise HGymError(f"Run '{run.name}' has already trained {info.epochs_done} epoch(s) of {config.epochs}; to "
                        f"extend it, ask for more epochs in all, e.g. {more} (--epochs {more} on the command line, "
                        f"epochs={more} in Python).")
    return config


def sampling_weights(checkpoint: dict) -> dict:
    """The generator to sample from: the best one by validation when the run validated, else the
    averaged one when the run averaged, else the last (``Trainer.sampling_generator``'s order)."""
    validation = checkpoint.get("validation") or {}
    return validation.get("best_generator") or checkpoint.get("average_generator") or checkpoint["generator"]


def _load_weights(run: RunFolder, apply: Callable[[dict], object]) -> None:
    """Load the run's checkpoint into models through ``apply``; weights of other sizes (a checkpoint
    copied from another run) become one HGymError instead of a traceback."""
    state = run.load_checkpoint()
    try:
        apply(state)
    except HGymError:
        raise
    except (RuntimeError, KeyError, ValueError, TypeError):
        raise HGymError(f"{run.checkpoint_path} does not fit run '{run.name}': its weights are not the sizes this "
                        "run's schema and settings make (was it copied from another run?); put the run's own "
                        "checkpoint.pt back, or delete the run.") from None
