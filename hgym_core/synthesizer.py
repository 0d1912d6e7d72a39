"""The SDV-shaped front door: ``Synthesizer(schema, config).fit(df)``, ``.sample(n)``, ``.save`` / ``.load``.

    synthesizer = Synthesizer(schema, preset("quick")).fit(df, run_dir="models/hiv-quick")
    synthetic = synthesizer.sample(1000, seed=1)            # same columns and dtypes as df
    Synthesizer.load("models/hiv-quick").resume(df, epochs=10)   # extend a finished run

A run folder written by this class, the command line or the dashboard is the same thing (all
three go through here and the Trainer), so ``load`` reads any of them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import pandas as pd
import torch

from hgym_core.runs.folder import RunFolder, now_iso
from hgym_core.runs.listing import effective_status
from hgym_core.gan.config import TrainConfig, check_resume_changes
from hgym_core.device import resolve_device
from hgym_core.data.encoding import EncodedCohort, Encoder
from hgym_core.errors import HGymError
from hgym_core.gan.models import Generator
from hgym_core.data.schema import Schema
from hgym_core.data.table_writer import WrittenTable, write_batches
from hgym_core.gan.trainer import Callback, Log, Trainer


def fingerprint(cohort: EncodedCohort) -> str:
    """A hash of the encoded training data, so a resume can tell it got the same data back."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(cohort.data.cpu().numpy()).tobytes())
    digest.update(cohort.lengths.cpu().numpy().astype(np.int64).tobytes())
    return digest.hexdigest()[:16]


def describe_data(df: pd.DataFrame, schema: Schema, cohort: EncodedCohort, source: dict | None) -> dict:
    """run.json's "data": where the table came from (``source``, e.g. {"kind": "file", "path": ...}),
    its size and a fingerprint."""
    source = dict(source or {"kind": "table"})
    patients, rows = int(cohort.data.shape[0]), len(df)
    label = {"demo": "built-in demo cohort (simulated)", "file": Path(source.get("path", "a file")).name,
             "upload": source.get("name", "an upload")}.get(source["kind"], "a table")
    return {"description": f"{label}: {patients:,} patients, {rows:,} rows", "source": source,
            "patients": patients, "rows": rows, "columns": schema.columns, "fingerprint": fingerprint(cohort)}


class Synthesizer:
    """A Health Gym v1 WGAN-GP for one schema: fit, sample, save, load, resume."""

    def __init__(self, schema: Schema, config: TrainConfig | None = None):
        self.schema = schema
        self.config = (config or TrainConfig()).validate()
        self.encoder: Encoder | None = None
        self.generator: Generator | None = None
        self.trainer: Trainer | None = None
        self.run: RunFolder | None = None
        self.data: dict = {}  # run.json's data description
        self.status = "created"

    # --- training ------------------------------------------------------------------------------
    def fit(self, df: pd.DataFrame, run_dir: str | os.PathLike | None = None,
            callbacks: Iterable[Callback] = (), stop_event: threading.Event | None = None,
            log: Log | None = None, data_source: dict | None = None) -> "Synthesizer":
        """Check ``df`` against the schema, fit the encoder and train a new run.

        With ``run_dir`` the run lives on disk (run.json, schema.json, checkpoints, metrics.csv);
        without it, in memory until ``save``. Returns self; ``self.status`` is "finished", or
        "stopped" when ``stop_event`` was set (resume continues it).
        """
        run = RunFolder(run_dir) if run_dir is not None else None
        if run is not None and run.exists():
            raise HGymError(f"'{run.path}' already holds a run; choose another name, delete that run, "
                            f"or resume it.")
        self.encoder = Encoder.fit(df, self.schema)  # checks the table first (every problem at once)
        cohort = self.encoder.encode(df)
        self.trainer = Trainer(self.encoder, cohort, self.config, run)
        self.generator, self.run = self.trainer.generator, run
        self.data = describe_data(df, self.schema, cohort, data_source)
        if run is not None:
            run.path.mkdir(parents=True, exist_ok=True)
            run.write_schema(self.schema.to_json())
            run.write_info(self._new_info(run.name, self.data))
        self.status = self.trainer.train(callbacks, stop_event, log)
        return self

    def resume(self, df: pd.DataFrame, epochs: int | None = None, callbacks: Iterable[Callback] = (),
               stop_event: threading.Event | None = None, log: Log | None = None) -> "Synthesizer":
        """Continue a loaded run from its checkpoint on the same data; ``epochs`` (the new total)
        extends a finished run."""
        if self.run is None or self.encoder is None:
            raise HGymError("Only a run loaded from its folder can be resumed: use Synthesizer.load(folder).resume(df).")
        info = self.run.read_info()
        if effective_status(info) == "running" and info.get("pid") != os.getpid():
            raise HGymError(f"Run '{self.run.name}' is being trained by process {info.get('pid')}; stop it first.")
        cohort = self.encoder.encode(df)
        expected = (info.get("data") or {}).get("fingerprint")
        if expected is not None and fingerprint(cohort) != expected:
            raise HGymError(f"This table differs from the data run '{self.run.name}' was trained on "
                            f"({info['data'].get('description', 'unknown')}); resume with that same data, "
                            f"or start a new run.")
        check_resume_changes(TrainConfig.from_dict(info["config"]), self.config)
        if epochs is not None:
            self.config = self.config.replace(epochs=epochs)
        trainer = Trainer(self.encoder, cohort, self.config, self.run)
        # Loaded on the CPU: load_state_dict copies weights and optimizer moments to the trainer's device.
        trainer.load_state_dict(self.run.load_checkpoint(), log)
        if trainer.finished:
            done = trainer.position.epoch
            raise HGymError(f"Run '{self.run.name}' has already trained {done} epoch(s); ask for more epochs "
                            f"(for example epochs={done + 10}) to extend it.")
        self.trainer, self.generator = trainer, trainer.generator
        self.status = trainer.train(callbacks, stop_event, log)
        return self

    def _new_info(self, name: str, data: dict) -> dict:
        return {"name": name, "created": now_iso(), "status": "created", "epochs_done": 0,
                "epochs_target": self.config.epochs, "checkpoint_step": None, "config": self.config.to_dict(),
                "schema": self.schema.to_dict(), "encoder": self.encoder.to_dict(), "data": data,
                "device": self.trainer.device_label() if self.trainer else "", "error": None, "last_metrics": None}

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
        id_column = self.schema.id_column
        for first in range(0, n_patients, batch_size):
            count = min(batch_size, n_patients - first)
            with torch.inference_mode():   # per batch: the consumer runs between batches, outside it
                encoded = self.generator(self.generator.sample_noise(count, length, noise))
                frame = self.encoder.decode(encoded.cpu())
            # Each batch decodes its patients as 0..count-1: shift them to first..first+count-1.
            ids = pd.factorize(frame[id_column])[0] + first
            frame[id_column] = pd.Series(ids, index=frame.index).astype(frame[id_column].dtype)
            yield count, frame
            if progress is not None:   # after the consumer took the batch: "done" includes writing it
                progress(first + count, n_patients)

    # --- persistence ---------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike) -> RunFolder:
        """Write a complete run folder (resumable: critic, optimizers and random state included)."""
        if self.trainer is None and self.run is None:
            raise HGymError("Nothing to save yet: call fit(df) first.")
        target = RunFolder(folder)
        if self.run is not None and target.path.resolve() == self.run.path.resolve():
            return target  # training already saved it at the end (or on stop)
        if target.exists():
            raise HGymError(f"'{target.path}' already holds a run; save to a new folder or delete that run.")
        target.path.mkdir(parents=True, exist_ok=True)
        if self.run is not None:  # a run on disk: copy its files, the newest state is there
            info = self.run.read_info()
            for source in (self.run.checkpoint_path, self.run.metrics_path):
                if source.is_file():
                    shutil.copyfile(source, target.path / source.name)
        else:
            target.save_checkpoint(self.trainer.state_dict())
            info = self._new_info(target.name, self.data)
            info.update(status=self.status, epochs_done=self.trainer.position.epoch,
                        checkpoint_step=self.trainer.position.step, last_metrics=self.trainer.last_metrics)
        target.write_schema(self.schema.to_json())
        target.write_info(dict(info, name=target.name))
        return target

    @classmethod
    def load(cls, folder: str | os.PathLike, device: str | None = None) -> "Synthesizer":
        """A synthesizer from any run folder; ``device`` overrides the run's setting ("auto" default)."""
        run = RunFolder(folder)
        info = run.read_info()
        try:
            config = TrainConfig.from_dict(info["config"])
            schema = Schema.from_dict(info["schema"])
            encoder = Encoder.from_dict(info["encoder"])
        except KeyError as missing:
            raise HGymError(f"{run.info_path} lacks {missing}; the run is incomplete and cannot be loaded.") from None
        if device is not None:
            config = config.replace(device=device)
        synthesizer = cls(schema, config)
        target = resolve_device(config.device)
        generator = Generator(encoder.spans, config.latent_dim, config.hidden_dim)
        generator.load_state_dict(run.load_checkpoint()["generator"])
        synthesizer.encoder, synthesizer.generator = encoder, generator.to(target)
        synthesizer.run, synthesizer.status = run, effective_status(info)
        return synthesizer
