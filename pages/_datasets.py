"""The data set a tab works on: the built-in cohort or an upload, its schema, and its checks.

Uploads are written to ``HGYM_DATA_DIR`` as Parquet with their schema, so a restart loses nothing
a user made, and every run records which data it was trained on. A table uploaded again (a file
fixed after the checks) keeps the schema edits made to the earlier one where they still fit.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import streamlit as st

from hgym_core.data.demo import DEMO_PATIENTS, DEMO_SEED, hiv_schema, simulate_hiv_cohort
from hgym_core.data.io import describe_read_as_empty, read_table, safe_file_stem, write_table
from hgym_core.data.schema import Problem, Schema, check, validate
from hgym_core.data.schema_edits import CarriedEdits, carry_edits
from hgym_core.errors import HGymError
from hgym_core.runs.folder import RunFolder
from hgym_core.runs.info import RunInfo
from hgym_core.runs.sources import demo_source, table_from_source
from pages._paths import data_dir
from pages._session import App


@dataclass(frozen=True)
class Dataset:
    """The table being worked on, its (possibly edited) schema and where it came from."""

    name: str
    frame: pd.DataFrame
    schema: Schema
    source: dict       # where it came from, recorded in each run's run.json ("data" -> "source")
    token: str         # identifies the table's contents: keys widgets and caches
    n_patients: int

    @property
    def is_upload(self) -> bool:
        return self.source.get("kind") == "upload"


# --------------------------------------------------------------------------- the built-in cohort

@st.cache_data(max_entries=3, show_spinner="Simulating the built-in HIV cohort…")
def _demo_table(n_patients: int, seed: int) -> tuple[pd.DataFrame, Schema]:
    frame = simulate_hiv_cohort(n_patients=n_patients, seed=seed)
    return frame, hiv_schema(frame)


def demo_dataset(n_patients: int = DEMO_PATIENTS, seed: int = DEMO_SEED) -> Dataset:
    frame, schema = _demo_table(int(n_patients), int(seed))
    description = f"Built-in HIV cohort ({n_patients:,} patients, seed {seed})"
    return Dataset(description, frame, schema, demo_source(n_patients, seed), f"demo-{n_patients}-{seed}",
                   int(n_patients))


def table_for_run(folder: RunFolder, info: RunInfo) -> pd.DataFrame:
    """The real table a run was trained on, from the data source its run.json records (the
    built-in cohort from this server's cache)."""
    return table_from_source(info.data.source if info.data else None, folder.name,
                             simulate=lambda n_patients, seed: _demo_table(n_patients, seed)[0])


# --------------------------------------------------------------------------- uploads

def accept_upload(data: bytes, name: str) -> Dataset:
    """Read an uploaded table, infer its schema, check its rows, and keep it under ``data_dir()``.

    Raises HGymError (unreadable file, past a table limit, no id/time column, rows that no
    schema could fit), and then nothing is saved, so the caller can keep the previous data in
    place. The kept file's name keeps the upload's letters and digits, of any script. A problem in a
    variable column (text in a numeric column, too many labels) does not refuse the upload: the
    Data page lists it, and it blocks training, until the schema or the file is fixed.
    """
    frame = read_table(io.BytesIO(data), name)
    schema = Schema.infer(frame)
    try:
        check(frame, replace(schema, variables=[]))   # the id and time columns only
    except HGymError as problem:   # e.g. a time column of text and 'n/a': say which cells were read as empty
        note = describe_read_as_empty(frame)
        raise HGymError(f"{problem}\n{note}" if note else str(problem)) from None
    digest = hashlib.sha256(data).hexdigest()[:10]
    path = data_dir() / f"{safe_file_stem(name)}-{digest}.parquet"
    try:
        write_table(frame, path)
    except (ValueError, TypeError, OSError) as problem:   # pyarrow refuses mixed-type columns
        raise HGymError(f"'{name}' was read but could not be kept as Parquet ({problem}); make each column "
                        "hold one kind of value (numbers or text) and upload it again.") from None
    schema.save(schema_path(path))
    return _upload_dataset(frame, schema, path, name)


def carry_schema_edits(dataset: Dataset, earlier: Dataset) -> tuple[Dataset, CarriedEdits | None]:
    """``dataset`` (just uploaded) with the schema edits the user made to ``earlier`` (an upload),
    for the columns both have, where they still fit; its saved schema follows. (dataset, None) when
    ``earlier`` is not an upload or had no edits."""
    if not earlier.is_upload:
        return dataset, None
    try:
        earlier_proposal = Schema.infer(earlier.frame, earlier.schema.id_column, earlier.schema.time_column)
    except HGymError:
        return dataset, None
    carried = carry_edits(earlier.schema, earlier_proposal, dataset.schema, dataset.frame)
    if not carried.kept and not carried.dropped:
        return dataset, None
    carried.schema.save(schema_path(Path(dataset.source["path"])))
    return replace(dataset, schema=carried.schema), carried


def schema_path(table_path: Path) -> Path:
    return table_path.with_name(table_path.name.removesuffix(".parquet") + ".schema.json")


def _upload_dataset(frame: pd.DataFrame, schema: Schema, path: Path, name: str) -> Dataset:
    n_patients = int(frame[schema.id_column].nunique())
    source = {"kind": "upload", "path": str(path), "name": name}
    return Dataset(name, frame, schema, source, f"upload-{path.stem}", n_patients)


def saved_uploads() -> list[Path]:
    """Uploads kept from earlier sessions, newest first."""
    folder = data_dir()
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.parquet"), key=lambda p: p.stat().st_mtime, reverse=True)


def load_saved_upload(path: Path) -> Dataset:
    frame = read_table(path)
    saved = schema_path(path)
    schema = Schema.load(saved) if saved.is_file() else Schema.infer(frame)
    return _upload_dataset(frame, schema, path, upload_label(path))


def upload_label(path: Path) -> str:
    """The upload's name without the content hash added when it was saved."""
    return path.stem.rsplit("-", 1)[0]


# --------------------------------------------------------------------------- this tab's data set

def current_dataset() -> Dataset:
    """This tab's data set; the built-in cohort until the user loads something else."""
    if not App.dataset.is_set():
        App.dataset.set(demo_dataset())
    return App.dataset.get()


def set_dataset(dataset: Dataset) -> None:
    App.dataset.set(dataset)


def set_schema(schema: Schema) -> None:
    """Use an edited schema for the current data; an upload's saved schema follows the edit."""
    dataset = current_dataset()
    if dataset.is_upload:
        schema.save(schema_path(Path(dataset.source["path"])))
    n_patients = dataset.n_patients if schema.id_column == dataset.schema.id_column else \
        int(dataset.frame[schema.id_column].nunique())
    set_dataset(replace(dataset, schema=schema, n_patients=n_patients))


# --------------------------------------------------------------------------- checks, shared by every tab

@st.cache_resource(max_entries=16, show_spinner="Checking the table against the schema…")
def _problems(token: str, schema_json: str, _frame: pd.DataFrame) -> list[Problem]:
    return validate(_frame, Schema.from_json(schema_json))


def problems(dataset: Dataset) -> list[Problem]:
    """Every problem of the data under its schema, computed once per (data, schema)."""
    return _problems(dataset.token, dataset.schema.to_json(), dataset.frame)


def blocking(found: list[Problem]) -> list[Problem]:
    return [p for p in found if p.severity == "error"]

