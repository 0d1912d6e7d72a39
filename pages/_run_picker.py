"""Runs as the pages use them: the current run, run pickers, and trained generators loaded once per server."""

from __future__ import annotations

import streamlit as st

from hgym_core.data.schema import Schema
from hgym_core.errors import HGymError
from hgym_core.runs.folder import RunFolder, run_path
from hgym_core.runs.listing import RunSummary, list_runs
from hgym_core.synthesizer import Synthesizer
from pages import _format as fmt
from pages._paths import models_dir
from pages._session import App, Picker


def current_run() -> str | None:
    return App.current_run.get()


def set_current_run(name: str | None) -> None:
    App.current_run.set(name)


def run_folder(name: str) -> RunFolder:
    """The run of that name: its folder in the models folder (a run is its folder)."""
    return RunFolder(run_path(models_dir(), name))


def trained_runs() -> list[RunSummary]:
    """Runs with a checkpoint to sample from, newest first (any status: a stopped run samples too)."""
    return [run for run in list_runs(models_dir()) if RunFolder(run.path).has_checkpoint() and run.info]


def pick_run(runs: list[RunSummary], picker: Picker, label: str = "Run") -> RunSummary:
    """A run selector (by folder name) that starts on the current run and makes the chosen run current;
    it follows the current run when that changes elsewhere (another page, the Train page's new run)."""
    names = [run.name for run in runs]
    current = current_run()
    if picker.choice.get() not in names or (current != picker.followed.get() and current in names):
        picker.choice.set(current if current in names else names[0])
    name = st.selectbox(label, names, key=picker.choice.key, format_func=lambda n: run_label(runs[names.index(n)]))
    set_current_run(name)
    picker.followed.set(name)
    return runs[names.index(name)]


def run_label(run: RunSummary) -> str:
    """A selector's line for a run (plain text: select boxes show no Markdown)."""
    return f"{run.name} ({run.status}, {fmt.epochs(run.epochs_done, run.epochs_target, time_budget(run))})"


def time_budget(run: RunSummary) -> float | None:
    """The run's time budget in seconds (None without one, or without readable settings)."""
    budget = (run.info.config or {}).get("time_budget") if run.info else None
    return float(budget) if isinstance(budget, (int, float)) and budget > 0 else None


def schema_line(run: RunSummary, shown: int = 6) -> str:
    """'13 variables: VL, CD4, …' from the schema the run recorded, or '' when it has none readable."""
    try:
        names = Schema.from_dict(run.info.schema).names if run.info and run.info.schema else []
    except HGymError:
        return ""
    listed = ", ".join(names[:shown]) + (", …" if len(names) > shown else "")
    return f"{len(names)} variables: {listed}" if names else ""


@st.cache_resource(max_entries=4, show_spinner="Loading the trained generator…")
def load_synthesizer(path: str, checkpoint_step: int | None) -> Synthesizer:
    """One loaded generator per run folder and checkpoint, shared by every tab (a newer checkpoint reloads)."""
    return Synthesizer.load(path)


def synthesizer_for(run: RunSummary) -> Synthesizer:
    return load_synthesizer(str(run.path.resolve()), run.info.checkpoint_step)
