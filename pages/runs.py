"""Runs page: every run in the models folder (dashboard or command line), its curves, and delete.

A run is its folder: the table lists each folder once under its own name (a copied folder is a
run of its own) and Delete removes exactly the folder chosen.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from hgym_core.runs.folder import RunFolder
from hgym_core.runs.listing import list_runs
from hgym_core.runs.service import delete_run
from hgym_core.errors import HGymError
from hgym_core.plots import loss_figure
from pages import _state as state

CONFIRM = "runs_confirm_delete"   # the run whose deletion waits for a "yes"
MESSAGE = "runs_message"


def _ask_delete(name: str) -> None:
    st.session_state[CONFIRM] = name


def _cancel_delete() -> None:
    st.session_state.pop(CONFIRM, None)


def _delete(name: str) -> None:
    st.session_state.pop(CONFIRM, None)
    try:
        delete_run(state.run_folder(name), state.job_registry())
    except HGymError as problem:
        st.session_state[MESSAGE] = ("error", str(problem))
        return
    if state.current_run() == name:
        state.set_current_run(None)
    st.session_state[MESSAGE] = ("success", f"Deleted run '{name}'.")


def _schema_text(run) -> str:
    schema = run.info.schema if run.info else None
    variables = [v.get("name", "?") for v in (schema or {}).get("variables", [])]
    shown = ", ".join(variables[:6]) + (", …" if len(variables) > 6 else "")
    return f"{len(variables)} variables: {shown}" if variables else ""


st.title("Runs")
st.caption(f"Runs in {state.models_dir()}, newest first. Runs trained from the command line "
           "(python -m hgym_core train --out <folder>) appear here too.")
kind, text = st.session_state.pop(MESSAGE, (None, None))
if text:
    getattr(st, kind)(text)

runs = list_runs(state.models_dir())
if not runs:
    st.info("No runs yet. Train one on the Train page.")
else:
    table = pd.DataFrame([{
        "run": run.name, "status": run.status, "epochs": f"{run.epochs_done}/{run.epochs_target}",
        "last W": run.w, "last Corr": run.corr, "created": run.created.replace("T", " ")[:19],
        "trained on": run.patients, "data": run.data, "schema": _schema_text(run), "device": run.device,
    } for run in runs])
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "last W": st.column_config.NumberColumn("Last W", format="%.4g", help="D_real − D_fake at the last step"),
        "last Corr": st.column_config.NumberColumn("Last Corr", format="%.4g", help="Correlation loss at the last step"),
        "trained on": st.column_config.Column("Trained on", help="Patients the run trained on, of those in its table "
                                              "(max_patients picks a subset), and the holdout kept out of training"),
    })

    st.header("Run details")
    names = [run.name for run in runs]
    if st.session_state.get("runs.selected") not in names:
        st.session_state["runs.selected"] = state.current_run() if state.current_run() in names else names[0]
    chosen = st.selectbox("Run", names, key="runs.selected")
    run = runs[names.index(chosen)]
    if run.error:
        st.error(run.error)
    metrics = RunFolder(run.path).read_metrics()
    if not metrics.empty:
        st.plotly_chart(loss_figure(metrics, ["d_real", "d_fake", "w", "gp", "d_loss", "g_loss", "corr"]),
                        key=f"curves.{chosen}")
    with st.expander("run.json"):
        st.json(run.info.to_dict() if run.info else {}, expanded=1)

    if st.session_state.get(CONFIRM) == chosen:
        st.warning(f"Delete run **{chosen}** and all its files (weights, checkpoint, curves)? This cannot be undone.")
        yes, no = st.columns([1, 4])
        yes.button(f"Yes, delete {chosen}", key="btn.confirm_delete", type="primary", on_click=_delete, args=(chosen,))
        no.button("Cancel", key="btn.cancel_delete", on_click=_cancel_delete)
    else:
        st.button("Delete this run…", key="btn.delete", on_click=_ask_delete, args=(chosen,),
                  disabled=run.status == "running")
