"""What the dashboard remembers: the current data set and run, where files live, process-wide caches.

Session state holds per-tab choices (the data set being worked on, the selected run, finished
comparisons). Things every tab shares live in ``st.cache_resource``: the one ``JobRegistry``
(a training job outlives the tab that started it) and the schema checks of a data set.
Uploads are written to ``HGYM_DATA_DIR`` as Parquet with their schema, so a restart loses
nothing a user made, and every run records which data it was trained on.
"""

from __future__ import annotations

import gc
import hashlib
import io
import os
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import streamlit as st

from hgym_core.runs.folder import RunFolder, run_path, sanitize_run_name
from hgym_core.runs.info import RunInfo
from hgym_core.runs.listing import RunSummary, list_runs
from hgym_core.runs.sources import demo_source, table_from_source
from hgym_core.data.demo import DEMO_PATIENTS, DEMO_SEED, hiv_schema, simulate_hiv_cohort
from hgym_core.errors import HGymError
from hgym_core.data.io import read_table, safe_file_stem, write_table
from hgym_core.runs.jobs import JobRegistry
from hgym_core.data.schema import Problem, Schema, Variable, check, validate
from hgym_core.synthesizer import Synthesizer

APP_DIR = Path(__file__).resolve().parent.parent


def models_dir() -> Path:
    """Where runs live: $HGYM_MODELS_DIR, else models/ next to app.py (read each time, for tests)."""
    return Path(os.environ.get("HGYM_MODELS_DIR") or APP_DIR / "models")


def data_dir() -> Path:
    """Where accepted uploads are kept: $HGYM_DATA_DIR, else data/uploads/ next to app.py."""
    return Path(os.environ.get("HGYM_DATA_DIR") or APP_DIR / "data" / "uploads")


@dataclass(frozen=True)
class Dataset:
    """The table being worked on, its (possibly edited) schema and where it came from."""

    name: str
    frame: pd.DataFrame
    schema: Schema
    source: dict       # where it came from, recorded in each run's run.json ("data" -> "source")
    token: str         # identifies the table's contents: keys widgets and caches
    n_patients: int


# --------------------------------------------------------------------------- loading data

@st.cache_data(max_entries=3, show_spinner="Simulating the built-in HIV cohort…")
def _demo_table(n_patients: int, seed: int) -> tuple[pd.DataFrame, Schema]:
    frame = simulate_hiv_cohort(n_patients=n_patients, seed=seed)
    return frame, hiv_schema(frame)


def demo_dataset(n_patients: int = DEMO_PATIENTS, seed: int = DEMO_SEED) -> Dataset:
    frame, schema = _demo_table(int(n_patients), int(seed))
    description = f"Built-in HIV cohort ({n_patients:,} patients, seed {seed})"
    return Dataset(description, frame, schema, demo_source(n_patients, seed), f"demo-{n_patients}-{seed}",
                   int(n_patients))


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
    check(frame, replace(schema, variables=[]))   # the id and time columns only
    digest = hashlib.sha256(data).hexdigest()[:10]
    path = data_dir() / f"{safe_file_stem(name)}-{digest}.parquet"
    try:
        write_table(frame, path)
    except (ValueError, TypeError, OSError) as problem:   # pyarrow refuses mixed-type columns
        raise HGymError(f"'{name}' was read but could not be kept as Parquet ({problem}); make each column "
                        "hold one kind of value (numbers or text) and upload it again.") from None
    schema.save(schema_path(path))
    return _upload_dataset(frame, schema, path, name)


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


def table_for_run(folder: RunFolder, info: RunInfo) -> pd.DataFrame:
    """The real table a run was trained on, from the data source its run.json records (the
    built-in cohort from this server's cache)."""
    return table_from_source(info.data.source if info.data else None, folder.name,
                             simulate=lambda n_patients, seed: _demo_table(n_patients, seed)[0])


# --------------------------------------------------------------------------- session state

def current_dataset() -> Dataset:
    """This tab's data set; the built-in cohort until the user loads something else."""
    if "dataset" not in st.session_state:
        st.session_state["dataset"] = demo_dataset()
    return st.session_state["dataset"]


def set_dataset(dataset: Dataset) -> None:
    st.session_state["dataset"] = dataset


def set_schema(schema: Schema) -> None:
    """Use an edited schema for the current data; an upload's saved schema follows the edit."""
    dataset = current_dataset()
    if dataset.source.get("kind") == "upload":
        schema.save(schema_path(Path(dataset.source["path"])))
    n_patients = dataset.n_patients if schema.id_column == dataset.schema.id_column else \
        int(dataset.frame[schema.id_column].nunique())
    set_dataset(replace(dataset, schema=schema, n_patients=n_patients))


def current_run() -> str | None:
    return st.session_state.get("current_run")


def set_current_run(name: str | None) -> None:
    st.session_state["current_run"] = name


# --------------------------------------------------------------------------- shared by every tab

@st.cache_resource
def freeze_imported_objects() -> None:
    """Once per server: leave the ~315,000 objects of the imported libraries out of garbage collection.

    A full collection scans every tracked object: ~185 ms with torch, pandas and Streamlit
    loaded, ~0 ms once they are frozen. Whichever request a collection lands on waits that long.
    """
    gc.freeze()


@st.cache_resource
def job_registry() -> JobRegistry:
    """The process's one registry: training survives closed tabs and every tab sees the same job."""
    return JobRegistry()


@st.cache_resource(max_entries=16, show_spinner="Checking the table against the schema…")
def _problems(token: str, schema_json: str, _frame: pd.DataFrame) -> list[Problem]:
    return validate(_frame, Schema.from_json(schema_json))


def problems(dataset: Dataset) -> list[Problem]:
    """Every problem of the current data under its schema, computed once per (data, schema)."""
    return _problems(dataset.token, dataset.schema.to_json(), dataset.frame)


def blocking(found: list[Problem]) -> list[Problem]:
    return [p for p in found if p.severity == "error"]


# --------------------------------------------------------------------------- settings

# Widget keys with these prefixes keep their values when the user switches pages (Streamlit
# forgets the state of widgets a run does not draw). Only value widgets use them, never buttons.
KEPT_PREFIXES = ("data.", "train.", "compare.", "generate.", "runs.")


def keep_settings() -> None:
    for key in list(st.session_state):
        if isinstance(key, str) and key.startswith(KEPT_PREFIXES):
            st.session_state[key] = st.session_state[key]


# --------------------------------------------------------------------------- runs

def run_folder(name: str) -> RunFolder:
    """The run of that name: its folder in the models folder (a run is its folder)."""
    return RunFolder(run_path(models_dir(), name))


def trained_runs() -> list[RunSummary]:
    """Runs with a checkpoint to sample from, newest first (any status: a stopped run samples too)."""
    return [run for run in list_runs(models_dir()) if RunFolder(run.path).has_checkpoint() and run.info]


def pick_run(runs: list[RunSummary], key: str, label: str = "Run") -> RunSummary:
    """A run selector (by folder name) that starts on the current run and makes the chosen run current;
    it follows the current run when that changes elsewhere (another page, the Train page's new run)."""
    names = [run.name for run in runs]
    followed = st.session_state.get(key + "#current")      # the current run when this selector last drew
    if st.session_state.get(key) not in names or (current_run() != followed and current_run() in names):
        st.session_state[key] = current_run() if current_run() in names else names[0]
    name = st.selectbox(label, names, key=key, format_func=lambda n: _run_label(runs[names.index(n)]))
    set_current_run(name)
    st.session_state[key + "#current"] = name
    return runs[names.index(name)]


def _run_label(run: RunSummary) -> str:
    return f"{run.name} ({run.status}, {run.epochs_done}/{run.epochs_target} epochs)"


@st.cache_resource(max_entries=4, show_spinner="Loading the trained generator…")
def load_synthesizer(path: str, checkpoint_step: int | None) -> Synthesizer:
    """One loaded generator per run folder and checkpoint, shared by every tab (a newer checkpoint reloads)."""
    return Synthesizer.load(path)


def synthesizer_for(run: RunSummary) -> Synthesizer:
    return load_synthesizer(str(run.path.resolve()), run.info.checkpoint_step)
