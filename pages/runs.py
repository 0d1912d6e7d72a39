"""Runs page: every run in the models folder (dashboard or command line), its curves, and delete.

A run is its folder: the table lists each folder once under its own name (a copied folder is a
run of its own) and Delete removes exactly the folder chosen.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from hgym_core.errors import HGymError
from hgym_core.plots import loss_figure
from hgym_core.runs.folder import RunFolder
from hgym_core.runs.listing import RunSummary, list_runs
from hgym_core.runs.service import delete_run
from pages._format import duration, plain
from pages._paths import models_dir
from pages._run_picker import current_run, run_folder, schema_line, set_current_run, time_budget
from pages._server import job_registry
from pages._session import Runs

LOSS_SERIES = ["d_real", "d_fake", "w", "gp", "d_loss", "g_loss", "corr"]


def _ask_delete(name: str) -> None:
    Runs.confirm.set(name)


def _cancel_delete() -> None:
    Runs.confirm.pop()


def _delete(name: str) -> None:
    Runs.confirm.pop()
    try:
        delete_run(run_folder(name), job_registry())
    except HGymError as problem:
        Runs.message.say("error", plain(problem), once=True)
        return
    if current_run() == name:
        set_current_run(None)
    Runs.message.say("success", f"Deleted run '{plain(name)}'.", once=True)


def _epochs(run: RunSummary) -> str:
    """'3/10', or with a time budget (its epochs are only a ceiling) '519 (1 min 00 s budget)'."""
    budget = time_budget(run)
    return f"{run.epochs_done:,} ({duration(budget)} budget)" if budget else f"{run.epochs_done:,}/{run.epochs_target:,}"


def _runs_table(runs: list[RunSummary]) -> None:
    """One row per run, narrow enough for a 1,400 px window: its data, schema and device are in Run details."""
    table = pd.DataFrame([{
        "run": run.name, "status": run.status, "epochs": _epochs(run),
        "last W": run.w, "last Corr": run.corr, "created": run.created.replace("T", " ")[:16],
        "trained on": run.patients,
    } for run in runs])
    st.dataframe(table, hide_index=True, width="stretch", placeholder="", column_config={
        "last W": st.column_config.NumberColumn("Last W", format="%.4g", help="D_real − D_fake at the last step"),
        "last Corr": st.column_config.NumberColumn("Last Corr", format="%.4g", help="Correlation loss at the last step"),
        "trained on": st.column_config.Column("Trained on", help="Patients the run trained on, of those in its table "
                                              "(max_patients picks a subset), and the holdout kept out of training"),
    })


def _run_details(runs: list[RunSummary]) -> None:
    st.header("Run details")
    names = [run.name for run in runs]
    if Runs.selected.get() not in names:
        Runs.selected.set(current_run() if current_run() in names else names[0])
    chosen = st.selectbox("Run", names, key=Runs.selected.key)
    run = runs[names.index(chosen)]
    if run.error:
        st.error(plain(run.error))
    st.caption(" · ".join(plain(part) for part in (run.data, schema_line(run),
                                                   f"trained on {run.device}" if run.device else "") if part))
    metrics = RunFolder(run.path).read_metrics()
    if not metrics.empty:
        st.plotly_chart(loss_figure(metrics, LOSS_SERIES), key=Runs.curves_chart(chosen).key)
    with st.expander("run.json"):
        st.json(run.info.to_dict() if run.info else {}, expanded=1)
    _delete_controls(run)


def _delete_controls(run: RunSummary) -> None:
    if Runs.confirm.get() == run.name:
        st.warning(f"Delete run **{plain(run.name)}** and all its files (weights, checkpoint, curves)? This cannot "
                   "be undone.")
        yes, no = st.columns([1, 4])
        yes.button(f"Yes, delete {plain(run.name)}", key=Runs.confirm_button.key, type="primary", on_click=_delete,
                   args=(run.name,))
        no.button("Cancel", key=Runs.cancel_button.key, on_click=_cancel_delete)
    else:
        st.button("Delete this run…", key=Runs.delete_button.key, on_click=_ask_delete, args=(run.name,),
                  disabled=run.status == "running")


def render() -> None:
    st.title("Runs")
    st.caption(f"Runs in {plain(models_dir())}, newest first. Runs trained from the command line "
               "(python -m hgym_core train --out <folder>) appear here too.")
    Runs.message.show()
    runs = list_runs(models_dir())
    if not runs:
        st.info("No runs yet. Train one on the Train page.")
        return
    _runs_table(runs)
    _run_details(runs)


render()
